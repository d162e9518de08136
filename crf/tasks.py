"""Celery tasks of the CRF app: take ids, call a service, nothing more."""

from celery import shared_task

from crf.epro.invitations import epro_sweep
from crf.queries.automatic import queries_autocheck
from crf.schedule.reminders import reminders_sweep


@shared_task(acks_late=True)
def queries_autocheck_task(*, participant_ids: list[int] | None = None) -> dict:
    """Run the automatic data checks (all participants, or the ones given).

    Idempotent: the checks reconcile with the queries already raised, under an
    advisory lock, so a redelivered or concurrent run raises nothing twice.
    """
    return queries_autocheck(participant_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=600)
def reminders_sweep_task() -> dict:
    """Write the visit digests due now into the outbox (hourly, by beat).

    Idempotent (each digest's outbox key names its recipient and day), so a
    sweep redelivered after its worker was killed adds nothing twice.
    """
    result = reminders_sweep()
    return {
        "daily_emails": result.daily_emails,
        "weekly_emails": result.weekly_emails,
        "visits_listed": result.visits_listed,
    }


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=600)
def epro_sweep_task() -> dict:
    """Write the survey invitations and reminders due now into the outbox
    (hourly, by beat; ``crf.epro.invitations.epro_sweep``).

    Idempotent (advisory lock, one transaction, outbox keys per invitation and
    reminder number): a sweep redelivered after its worker was killed sends
    nothing twice.
    """
    result = epro_sweep()
    return {"invitations": result.invitations, "reminders": result.reminders}
