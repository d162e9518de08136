"""Celery tasks of the outbox: take ids, call ``infrastructure.outbox``.

Every e-mail is an outbox row first (``infrastructure.outbox.emails_queue``);
these tasks only send rows. There is no task that sends an e-mail without one.
"""

from celery import shared_task

from infrastructure.outbox import email_deliver, emails_due


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=90,
    time_limit=120,
)
def outbox_send(self, *, email_id: int) -> str:
    """Send one outbox e-mail (``infrastructure.outbox.email_deliver``).

    Idempotent: the row is locked and sent only while pending, so a task
    redelivered after its worker was killed, or queued twice, sends once;
    hence ``acks_late`` with ``reject_on_worker_lost``. An SMTP or network
    error retries with exponential backoff (``EMAIL_RETRY``) until the row is
    marked failed; ``outbox_flush`` re-queues a retry whose message was lost.
    """
    delivery = email_deliver(email_id)
    if delivery.outcome == "retry":
        raise self.retry(countdown=delivery.delay, exc=OSError(delivery.error))
    return delivery.outcome


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def outbox_flush(*, grace_seconds: int = 60) -> int:
    """Queue every pending e-mail whose send is overdue by ``grace_seconds``
    (run every minute by beat)."""
    due = emails_due(grace_seconds=grace_seconds)
    for email_id in due:
        outbox_send.delay(email_id=email_id)
    return len(due)
