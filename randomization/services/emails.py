"""The e-mails randomization decides, written to the outbox
(``infrastructure.outbox``): an allocation, and a stratum with no slot left.

Each is written in the transaction that decides it, under a key naming what it
is for, so deciding twice writes one row; the outbox sends it once that
transaction commits and keeps it on the e-mail log. Recipients are chosen by
role (``perform.roles.ALLOCATION_EMAIL_SITE_ROLES``, ``LIST_ALERT_ROLES``).
The tasks in ``randomization.tasks`` call these functions and do nothing else.
"""

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from infrastructure.outbox import Email, emails_queue
from perform import roles
from perform.models import User
from randomization.models import ListEvent, Slot, Stratum

# Outbox kinds.
ALLOCATION = "allocation"
STRATUM_EXHAUSTED = "stratum_exhausted"

# The allocation e-mail's recipient who made the allocation (by name, whatever
# their role), as the key calls them.
RANDOMIZED_BY = "randomizer"


def _allocation_recipients(slot: Slot) -> dict[str, tuple[str, int]]:
    """Address → (why, user id): whoever randomized, then every active member
    of an allocation e-mail role at the participant's site; one per address."""
    recipients = {}
    if slot.allocated_by and slot.allocated_by.email:
        recipients[slot.allocated_by.email] = (RANDOMIZED_BY, slot.allocated_by.pk)
    members = (
        User.objects.filter(
            is_active=True,
            memberships__site=slot.participant.site_id,
            groups__name__in=roles.ALLOCATION_EMAIL_SITE_ROLES,
        )
        .exclude(email="")
        .order_by("pk", "groups__name")
        .values_list("email", "groups__name", "pk")
    )
    for email, role, user_id in members:
        recipients.setdefault(email, (slugify(role), user_id))
    return recipients


def allocation_emails_queue(*, slot_id: int) -> int:
    """Queue the allocation e-mail of slot ``slot_id`` to whoever randomized and
    to each coordinator of the participant's site, one e-mail each (nobody sees
    the other recipients); return how many were written now.

    The message names the participant, arm, time and randomizer, never the
    number within the stratum or block data: the template gets those values,
    not the slot (nor the participant, through which the slot is reachable).

    Keys: ``allocation:<study ID>:<randomizer|site-coordinator>:<user id>``.
    The study ID, not the slot, names the allocation: slots are numbered in
    sequence order within their stratum, so slot ids on the e-mail log would
    give its readers the block data the randomization log withholds.

    Idempotent: the slot row is locked and ``notified_at`` set in the
    transaction that writes the rows, so a redelivered task writes nothing; the
    keys are the backstop.
    """
    with transaction.atomic():
        slot = (
            Slot.objects.select_for_update(of=("self",))
            .select_related(
                "participant__site", "stratum__allocation_list", "allocated_by"
            )
            .get(pk=slot_id)
        )
        if slot.notified_at is not None:
            return 0
        participant = slot.participant
        context = {
            "study_id": participant.study_id,
            "site_code": participant.site.code,
            "arm": slot.arm,
            "arm_label": slot.stratum.allocation_list.arm_label(slot.arm),
            "randomized_at": slot.allocated_at,
            "randomized_by": slot.allocated_by.get_username()
            if slot.allocated_by
            else "",
            "url": settings.SITE_URL
            + reverse("participant_detail", args=[participant.study_id]),
        }
        body = render_to_string("randomization/email/allocation.txt", context)
        written = emails_queue(
            [
                Email(
                    key=f"{ALLOCATION}:{participant.study_id}:{why}:{user_id}",
                    kind=ALLOCATION,
                    to=[address],
                    subject=f"PERFORM: {participant.study_id} randomized",
                    body_text=body,
                )
                for address, (why, user_id) in sorted(
                    _allocation_recipients(slot).items()
                )
            ]
        )
        slot.notified_at = timezone.now()
        slot.save(update_fields=["notified_at"])
    return len(written)


@transaction.atomic
def stratum_exhaustion_record(*, stratum_id: int, study_id: str) -> int:
    """Log on the list that stratum ``stratum_id`` has no slot left (so
    ``study_id`` could not be randomized) and queue the e-mail telling the
    statisticians; return its number of recipients if it was written now, else
    0.

    Every refusal is logged; the e-mail is written once per exhaustion, under
    ``stratum-exhausted:<list id>:<stratum key>:<n>-allocated`` (n: the
    stratum's allocations), so participants turned away while the stratum is
    empty add no e-mail, and running out again after an extension is news
    again. With no statistician to tell, the row fails at once and shows as
    failed on the e-mail log.
    """
    stratum = Stratum.objects.select_related("allocation_list").get(pk=stratum_id)
    ListEvent.objects.create(
        allocation_list=stratum.allocation_list,
        action=ListEvent.Action.EXHAUSTED,
        detail={"stratum": stratum.key, "study_id": study_id},
    )
    allocated = stratum.slots.filter(participant__isnull=False).count()
    recipients = sorted(
        set(
            User.objects.filter(is_active=True, groups__name__in=roles.LIST_ALERT_ROLES)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    context = {
        "stratum": stratum,
        "study_id": study_id,
        "url": settings.SITE_URL
        + reverse("randomization:list_detail", args=[stratum.allocation_list_id]),
    }
    key = (
        f"stratum-exhausted:{stratum.allocation_list_id}:{stratum.key}:"
        f"{allocated}-allocated"
    )
    written = emails_queue(
        [
            Email(
                key=key,
                kind=STRATUM_EXHAUSTED,
                to=recipients,
                subject=f"PERFORM: allocation list exhausted in stratum {stratum.key}",
                body_text=render_to_string(
                    "randomization/email/exhausted.txt", context
                ),
            )
        ]
    )
    return len(recipients) if key in written else 0
