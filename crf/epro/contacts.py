"""A participant's contact preferences for questionnaires (PROTOCOL §13): who
may read them, and the writes that record them.

Who sees contact details: ``contact_details_visible`` is the one door. Only
the staff of the participant's own site who enter forms (``crf.enter_forms``
and a ``SiteMembership`` of the participant's site) see an address, a number
or a proxy; the Methods Centre (``perform.view_all_sites``), whose work never
needs them, sees none, on any page. E-mails carry none either: survey messages
are addressed to the participant (``OutboundEmail.to_participant``) and the
e-mail log and admin hide those addresses.

Writes: ``contact_preference_save`` creates or changes the record (a change
needs a reason, kept with the audit event); ``contact_opt_out`` and
``contact_opt_out_undo`` record that the participant asked for no more
messages, or asked for them again. Each is one transaction with its audit
event (pghistory through ``perform.services.audit_context``). Preferences are
recorded at consent or later: before consent the participant has agreed to
nothing (``ContactNotAllowed``).
"""

import re

from django.db import transaction
from django.utils import timezone

from crf.models import Channel, ContactPreference
from perform.exceptions import TrialError
from perform.models import Participant, ParticipantStatus, SiteMembership
from perform.selectors import user_sees_all_sites
from perform.services import audit_context

# Consented participants may be contacted (randomized ones are consented too);
# the sweep itself writes only to randomized ones still in follow-up.
CONTACT_STATUSES = (ParticipantStatus.CONSENTED, ParticipantStatus.RANDOMIZED)

PHONE_NEEDS_COUNTRY_CODE = (
    "Give the country code: start the number with + and the country code, "
    "e.g. +1 416 555 0123 (Canada) or +49 40 7410 0 (Germany)."
)
PHONE_INVALID = (
    "This is not a mobile number in international form: + and the country "
    "code, then 8 to 15 digits in all, e.g. +1 416 555 0123."
)
EMAIL_NEEDED = "Give the participant's e-mail address: the channel is e-mail."
PHONE_NEEDED = "Give the participant's mobile number: the channel is SMS."
CLINIC_ONLY_WITHOUT_CONSENT = (
    "Without agreement to electronic contact the channel must be clinic only: "
    "no messages are sent."
)
REASON_NEEDED = "Give a reason for the change: these preferences were recorded before."

# What a coordinator types between the digits of a number.
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


class ContactNotAllowed(TrialError):
    code = "contact_not_allowed"


def contact_allowed_for(participant: Participant) -> bool:
    """May contact preferences be recorded for ``participant`` (consented)?"""
    return participant.status in CONTACT_STATUSES


def contact_not_allowed_message(participant: Participant) -> str:
    return (
        f"{participant.study_id} is {participant.get_status_display().lower()}: "
        "contact preferences are recorded at consent or later, for a consented "
        "or randomized participant."
    )


def contact_details_visible(user, participant: Participant) -> bool:
    """May ``user`` read ``participant``'s contact details (address, number,
    proxy)? Only staff of the participant's own site who enter forms; never
    the Methods Centre (which sees every site)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if not user.has_perm("crf.enter_forms") or user_sees_all_sites(user):
        return False
    return SiteMembership.objects.filter(
        user=user, site_id=participant.site_id
    ).exists()


def phone_normalize(text: str) -> str:
    """``text`` as E.164 ("+<digits>"), without the spaces, dashes, dots,
    slashes and parentheses people type; "" for "". Raises
    ``TrialError`` (field "phone") for a number without its country code or
    one that cannot be a number."""
    text = (text or "").strip()
    if not text:
        return ""
    compact = _PHONE_SEPARATORS.sub("", text)
    if compact.startswith("00") and compact[2:].isdigit():
        # The international call prefix many countries dial: 0049… is +49….
        compact = "+" + compact[2:]
    if compact.isdigit():
        raise TrialError(PHONE_NEEDS_COUNTRY_CODE, field="phone")
    if not _E164.match(compact):
        raise TrialError(PHONE_INVALID, field="phone")
    return compact


def contact_preference_check(
    *, electronic_contact: bool, channel: str, email: str, phone: str
) -> dict[str, str]:
    """Field → error of a set of preferences the rules refuse (empty if none)."""
    errors = {}
    if not electronic_contact and channel != Channel.CLINIC:
        errors["channel"] = CLINIC_ONLY_WITHOUT_CONSENT
    elif channel == Channel.EMAIL and not email:
        errors["email"] = EMAIL_NEEDED
    elif channel == Channel.SMS and not phone:
        errors["phone"] = PHONE_NEEDED
    return errors


def contact_preference_get(*, participant: Participant) -> ContactPreference | None:
    """The participant's contact preferences, or None if none were recorded.
    Callers show the details only if ``contact_details_visible``."""
    return ContactPreference.objects.filter(participant=participant).first()


def _check_allowed(participant: Participant) -> None:
    if not contact_allowed_for(participant):
        raise ContactNotAllowed(contact_not_allowed_message(participant))


@transaction.atomic
def contact_preference_save(
    *,
    actor,
    participant: Participant,
    electronic_contact: bool,
    channel: str,
    email: str = "",
    phone: str = "",
    language: str,
    proxy_name: str = "",
    proxy_relationship: str = "",
    reason: str = "",
) -> ContactPreference:
    """Record or change ``participant``'s contact preferences.

    ``phone`` is normalized to E.164. A change of an existing record needs a
    ``reason`` (kept with the audit event). Raises ``TrialError`` (with the
    field it belongs to) for preferences the rules refuse.
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _check_allowed(participant)
    phone = phone_normalize(phone)
    email = (email or "").strip()
    for field, message in contact_preference_check(
        electronic_contact=electronic_contact,
        channel=channel,
        email=email,
        phone=phone,
    ).items():
        raise TrialError(message, field=field)
    existing = ContactPreference.objects.filter(participant=participant).first()
    if existing is not None and not reason.strip():
        raise TrialError(REASON_NEEDED, field="reason")
    preference = existing or ContactPreference(
        participant=participant, recorded_by=actor
    )
    preference.electronic_contact = electronic_contact
    preference.channel = channel
    preference.email = email
    preference.phone = phone
    preference.language = language
    preference.proxy_name = proxy_name.strip()
    preference.proxy_relationship = proxy_relationship.strip()
    preference.full_clean(exclude=["participant", "recorded_by"])
    with audit_context(actor=actor, reason=reason.strip()):
        preference.save()
    return preference


@transaction.atomic
def contact_opt_out(
    *, actor, participant: Participant, reason: str
) -> ContactPreference:
    """The participant asked for no more messages: reminders and invitations
    stop (``ContactPreference.messages_allowed``). Recorded once."""
    preference = _preference_for_change(participant, reason)
    if preference.opted_out_at is None:
        preference.opted_out_at = timezone.now()
        with audit_context(actor=actor, reason=reason.strip()):
            preference.save(update_fields=["opted_out_at", "updated_at"])
    return preference


@transaction.atomic
def contact_opt_out_undo(
    *, actor, participant: Participant, reason: str
) -> ContactPreference:
    """The participant asked for messages again (an opt-out recorded by
    mistake, or a change of mind)."""
    preference = _preference_for_change(participant, reason)
    if preference.opted_out_at is not None:
        preference.opted_out_at = None
        with audit_context(actor=actor, reason=reason.strip()):
            preference.save(update_fields=["opted_out_at", "updated_at"])
    return preference


def _preference_for_change(participant: Participant, reason: str) -> ContactPreference:
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _check_allowed(participant)
    preference = (
        ContactPreference.objects.select_for_update()
        .filter(participant=participant)
        .first()
    )
    if preference is None:
        raise TrialError("Record the contact preferences first.")
    if not reason.strip():
        raise TrialError(REASON_NEEDED, field="reason")
    return preference
