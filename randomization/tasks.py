"""Celery tasks of randomization: take ids, call Django, nothing more."""

import datetime

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from infrastructure.tasks import email_send
from randomization.models import ListEvent, Slot, Stratum

User = get_user_model()


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def allocation_notify(*, slot_id: int) -> int:
    """E-mail the allocation to the site's coordinators and the randomizer.

    The message names the participant, arm, time and randomizer, never the
    number within the stratum or block data: the template gets those values,
    not the slot (nor the participant, through which the slot is reachable).

    Idempotent: the slot row is locked and ``notified_at`` set in the same
    transaction, so a redelivered task sends nothing twice.
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
        coordinators = User.objects.filter(
            is_active=True,
            memberships__site=participant.site,
            groups__name="Site coordinator",
        ).exclude(email="")
        recipients = sorted(
            {u.email for u in coordinators}
            | (
                {slot.allocated_by.email}
                if slot.allocated_by and slot.allocated_by.email
                else set()
            )
        )
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
        for recipient in recipients:
            transaction.on_commit(
                lambda r=recipient: email_send.delay(
                    subject=f"PERFORM: {participant.study_id} randomized",
                    body=render_to_string(
                        "randomization/email/allocation.txt", context
                    ),
                    to=[r],
                )
            )
        slot.notified_at = timezone.now()
        slot.save(update_fields=["notified_at"])
    return len(recipients)


@shared_task(soft_time_limit=50, time_limit=60)
def stratum_exhausted_alert(*, stratum_id: int, study_id: str) -> int:
    """Tell the statisticians a stratum has no slot left, and log it on the list."""
    stratum = Stratum.objects.select_related("allocation_list").get(pk=stratum_id)
    ListEvent.objects.create(
        allocation_list=stratum.allocation_list,
        action=ListEvent.Action.EXHAUSTED,
        detail={"stratum": stratum.key, "study_id": study_id},
    )
    recipients = sorted(
        User.objects.filter(is_active=True, groups__name="Statistician")
        .exclude(email="")
        .values_list("email", flat=True)
    )
    context = {
        "stratum": stratum,
        "study_id": study_id,
        "url": settings.SITE_URL
        + reverse("randomization:list_detail", args=[stratum.allocation_list_id]),
    }
    if recipients:
        email_send.delay(
            subject=f"PERFORM: allocation list exhausted in stratum {stratum.key}",
            body=render_to_string("randomization/email/exhausted.txt", context),
            to=recipients,
        )
    return len(recipients)


@shared_task(soft_time_limit=50, time_limit=60)
def allocation_notify_pending() -> int:
    """Re-queue the allocation e-mail of every allocation not yet notified (e.g.
    the broker was down when it was made). Runs every few minutes; harmless to
    overlap with ``allocation_notify`` because that task is idempotent."""
    cutoff = timezone.now() - datetime.timedelta(minutes=2)
    pending = list(
        Slot.objects.filter(
            participant__isnull=False, notified_at__isnull=True, allocated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for slot_id in pending:
        allocation_notify.delay(slot_id=slot_id)
    return len(pending)
