"""Celery tasks of the outcomes app: take ids, call a service, nothing more."""

from celery import shared_task
from django.utils import timezone

from outcomes import services
from outcomes.recovery import reports_recover


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=1800)
def report_generate_task(*, report_id: int, attempt: int | None = None) -> dict:
    """Build and store attempt ``attempt`` of one requested report.

    Idempotent and safe under double delivery (see
    ``services.report_generate``): a copy redelivered after its worker was
    killed, or after the recovery sweep re-queued the report, does nothing.
    """
    report = services.report_generate(report_id=report_id, attempt=attempt)
    return {"report_id": report_id, "attempt": attempt, "built": report is not None}


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def reports_recover_task() -> dict:
    """Re-queue report builds whose worker was lost, resend those no worker
    claimed (every minute, by beat; ``outcomes.recovery``). Idempotent."""
    return reports_recover()


@shared_task(acks_late=True)
def reports_monthly_task() -> list[int]:
    """Queue this month's open and closed reports (by beat, on the 1st)."""
    reports = services.reports_monthly_request(today=timezone.localdate())
    return [report.pk for report in reports]


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=1800)
def data_export_build_task(*, export_id: int) -> dict:
    """Build and store one requested data export. Idempotent
    (``outcomes.data_export.services.data_export_build``): a second delivery,
    or a run after the export is done, does nothing."""
    from outcomes.data_export.services import data_export_build

    export = data_export_build(export_id=export_id)
    return {"export_id": export_id, "built": export is not None}
