"""Expedited safety alerts (PROTOCOL §9): a serious adverse event, a death or
a reoperation entered by a site alerts the Methods Centre safety contacts
(``User.safety_contact``) and the site's investigators.

``safety_alert_for`` runs inside the transaction that saves the form
(``crf.forms.services.form_save``): the alert row and its outbox e-mail commit with
the form or not at all, and the outbox sends the e-mail once the save has
committed (normally within seconds; the outbox's one-minute flush covers a
broker outage). One alert per event, whatever edits follow; an adverse event
first saved as non-serious alerts when it is made serious. The first save
counts, draft or complete: a site reporting a death should not have to finish
the form before the Methods Centre hears of it.

A report is *late* when it was entered more than 24 hours after the site
became aware (PROTOCOL §9); "entered" is the save that made it a safety event
(for an adverse event first saved as non-serious, the save that made it
serious). Forms record the awareness date, not the hour, so
a report counts as late only when it must have been: entered (site's local
date) two or more days after the awareness date. Deaths and reoperations have
no awareness date; their event date stands in.

The e-mail says what happened and where, with a link, and no more personal
data than the study ID.
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from crf.forms.registry import form_url, spec_for_model
from crf.models import AdverseEvent, CrfForm, Death, Reoperation, SafetyAlert
from infrastructure.outbox import Email, emails_queue
from perform import roles
from perform.models import User

LATE_AFTER_DAYS = 2  # local entry date minus awareness date, see above


def report_is_late(
    awareness_date: datetime.date | None, entered_at: datetime.datetime, zone: str
) -> bool:
    """Whether a report entered at ``entered_at`` was certainly more than 24
    hours after awareness on ``awareness_date`` (at the site in ``zone``)."""
    if awareness_date is None:
        return False
    entered = entered_at.astimezone(ZoneInfo(zone)).date()
    return (entered - awareness_date).days >= LATE_AFTER_DAYS


def _event(form: CrfForm) -> tuple[str, datetime.date | None] | None:
    """(alert kind, awareness date) if ``form`` is a safety event, else None."""
    if isinstance(form, AdverseEvent):
        if form.serious:
            return SafetyAlert.Kind.SAE, form.awareness_date
        return None
    if isinstance(form, Death):
        return SafetyAlert.Kind.DEATH, form.death_date
    if isinstance(form, Reoperation):
        return SafetyAlert.Kind.REOPERATION, form.reoperation_date
    return None


def safety_recipients(site_id: int) -> list[str]:
    """E-mail addresses of the safety contacts and the site's investigators."""
    return sorted(
        set(
            User.objects.filter(is_active=True)
            .filter(
                Q(safety_contact=True)
                | Q(
                    groups__name=roles.SITE_INVESTIGATOR,
                    memberships__site_id=site_id,
                )
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def safety_alert_for(form: CrfForm) -> SafetyAlert | None:
    """Write the alert of ``form`` (just saved, in the caller's transaction)
    if it is a safety event not yet alerted; return it, else None."""
    event = _event(form)
    if event is None:
        return None
    kind, awareness = event
    form_type = ContentType.objects.get_for_model(form)
    if SafetyAlert.objects.filter(form_type=form_type, form_id=form.pk).exists():
        return None
    participant = form.participant
    site = participant.site
    # Reported as a safety event now: for an adverse event first entered as
    # non-serious, this save (not the first one) starts its clock.
    entered_at = timezone.now()
    late = report_is_late(awareness, entered_at, site.time_zone)
    spec = spec_for_model(type(form))
    context = {
        "kind": SafetyAlert.Kind(kind).label,
        "form": form,
        "participant": participant,
        "site": site,
        "awareness": awareness,
        # Formatted here: the template's date filter would show both in UTC.
        "entered_utc": f"{entered_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M}",
        "entered_local": (
            f"{entered_at.astimezone(ZoneInfo(site.time_zone)):%Y-%m-%d %H:%M}"
        ),
        "entered_by": form.created_by.username if form.created_by else "",
        "late": late,
        "url": settings.SITE_URL + form_url(participant.study_id, spec, pk=form.pk),
    }
    key = f"safety-alert:{form_type.model}:{form.pk}"
    subject = (
        f"PERFORM safety: {context['kind']} at {site.code}, {participant.study_id}"
    )
    if late:
        subject = f"[LATE REPORT] {subject}"
    ids = emails_queue(
        [
            Email(
                key=key,
                kind="safety_alert",
                to=safety_recipients(site.pk),
                subject=subject,
                body_text=render_to_string("crf/email/safety_alert.txt", context),
                body_html=render_to_string("crf/email/safety_alert.html", context),
            )
        ]
    )
    if key not in ids:
        return None
    return SafetyAlert.objects.create(
        participant=participant,
        kind=kind,
        form_type=form_type,
        form_id=form.pk,
        awareness_date=awareness,
        entered_at=entered_at,
        late=late,
        email_id=ids[key],
    )
