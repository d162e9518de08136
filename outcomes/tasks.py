"""Celery tasks of the outcomes app: take ids, call a service, nothing more."""

from celery import shared_task
from django.utils import timezone

from outcomes import services


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=1800)
def report_generate_task(*, report_id: int) -> dict:
    """Build and store one requested report. Idempotent (see
    ``services.report_generate``): safe to redeliver after a worker crash."""
    report = services.report_generate(report_id=report_id)
    return {"report_id": report_id, "built": report is not None}


@shared_task(acks_late=True)
def reports_monthly_task() -> list[int]:
    """Queue this month's open and closed reports (by beat, on the 1st)."""
    reports = services.reports_monthly_request(today=timezone.localdate())
    return [report.pk for report in reports]
