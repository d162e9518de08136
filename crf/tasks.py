"""Celery tasks of the CRF app: take ids, call a service, nothing more."""

from celery import shared_task

from crf.checks_auto import queries_autocheck


@shared_task(acks_late=True)
def queries_autocheck_task(*, participant_ids: list[int] | None = None) -> dict:
    """Run the automatic data checks (all participants, or the ones given).

    Idempotent: the checks reconcile with the queries already raised, under an
    advisory lock, so a redelivered or concurrent run raises nothing twice.
    """
    return queries_autocheck(participant_ids)
