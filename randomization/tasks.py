"""Celery tasks of randomization: take ids, call a service, nothing more."""

import datetime

from celery import shared_task
from django.utils import timezone

from randomization.models import Slot
from randomization.services.emails import (
    allocation_emails_queue,
    stratum_exhaustion_record,
)


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def allocation_notify(*, slot_id: int) -> int:
    """Write the allocation e-mails of one slot to the outbox, which sends them
    (``randomization.services.emails.allocation_emails_queue``; idempotent)."""
    return allocation_emails_queue(slot_id=slot_id)


@shared_task(soft_time_limit=50, time_limit=60)
def stratum_exhausted_alert(*, stratum_id: int, study_id: str) -> int:
    """Log an exhausted stratum on its list and write the statisticians' e-mail
    to the outbox (``randomization.services.emails.stratum_exhaustion_record``)."""
    return stratum_exhaustion_record(stratum_id=stratum_id, study_id=study_id)


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
