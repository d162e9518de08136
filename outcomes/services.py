"""Writes of the outcomes app: request and build DSMB reports (their release:
``outcomes.release``; downloads: ``outcomes.downloads``).

* ``report_request`` (statistician, or the monthly schedule) records a queued
  report and asks a worker to build it once the request commits. A second
  request for the same kind and cut-off while one is in the making returns
  that one (a database constraint makes this hold under concurrency).
* ``report_generate`` is the worker's job: it claims the report, builds the
  content, PDF and JSON, stores the files and marks it ready: a draft, which
  nobody but the statisticians sees and nobody is e-mailed about until a
  statistician releases it (``outcomes.release``). It is idempotent and safe
  under double delivery: each task names the build attempt it is for, a
  report is claimed only while queued and only for that attempt, and the
  files and the ready state are stored only by the build that still holds
  its claim (checked under a row lock). A ready report is
  never rebuilt; a task redelivered after its build was recovered, or a
  second copy of one, does nothing (a task redelivered for a build whose
  worker was lost, before the sweep saw it, recovers it as the sweep would).
  Each progress stage is also the build's heartbeat, by which the recovery
  sweep (``outcomes.recovery``) finds builds whose worker was lost.
"""

import datetime
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from outcomes.inputs import inputs_digest, report_inputs
from outcomes.models import Report
from outcomes.report.content import report_content
from outcomes.report.pdf import report_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltReport:
    content: dict
    pdf: bytes
    dataset_sha256: str


def report_build(
    *,
    kind: str,
    cutoff: datetime.date,
    generated_at: datetime.datetime | None = None,
    progress=lambda percent, stage: None,
) -> BuiltReport:
    """Build a report's content and PDF from the database (no files written).

    Used by the worker and by ``manage.py dsmb_report``; ``progress`` is told
    each stage as it starts.
    """
    if kind not in Report.Kind.values:
        raise ValueError(f"Unknown report kind {kind!r}: use open or closed.")
    generated_at = generated_at or timezone.now()
    progress(5, "Reading trial data")
    inputs = report_inputs(cutoff=cutoff, generated_at=generated_at)
    progress(30, "Computing the dataset digest")
    digest = inputs_digest(inputs)
    progress(40, "Tabulating")
    content = report_content(
        inputs,
        kind=kind,
        generated_at=generated_at,
        dataset_sha256=digest,
        progress=progress,
    )
    progress(60, "Drawing figures and writing the PDF")
    pdf = report_pdf(content)
    return BuiltReport(content=content, pdf=pdf, dataset_sha256=digest)


def _validate_cutoff(cutoff: datetime.date) -> None:
    if cutoff > timezone.localdate():
        raise ValidationError(
            {"cutoff": "The data cut-off cannot be in the future."}, code="future"
        )
    start = datetime.date.fromisoformat(settings.TRIAL["RECRUITMENT_START"])
    if cutoff < start:
        raise ValidationError(
            {"cutoff": f"The data cut-off cannot be before recruitment ({start})."},
            code="before_start",
        )


def report_request(*, actor, kind: str, cutoff: datetime.date) -> Report:
    """Queue a report of ``kind`` with data cut-off ``cutoff``.

    ``actor`` is None for the monthly schedule. Returns the report already in
    the making for the same kind and cut-off, if there is one.
    """
    if actor is not None and not actor.has_perm("outcomes.request_report"):
        raise PermissionDenied("You may not request DSMB reports.")
    if kind not in Report.Kind.values:
        raise ValidationError({"kind": "Choose open or closed."}, code="kind")
    _validate_cutoff(cutoff)
    in_progress = Report.objects.filter(
        kind=kind,
        cutoff=cutoff,
        status__in=[Report.Status.QUEUED, Report.Status.RUNNING],
    )
    try:
        with transaction.atomic():
            report = Report.objects.create(kind=kind, cutoff=cutoff, requested_by=actor)
    except IntegrityError:
        return in_progress.get()
    report_enqueue(report)
    return report


def reports_monthly_request(*, today: datetime.date) -> list[Report]:
    """The monthly schedule: queue the open and closed reports whose data
    cut-off is the last day of the month before ``today``, unless the schedule
    already made them (a beat run repeated after a restart adds nothing)."""
    cutoff = today.replace(day=1) - datetime.timedelta(days=1)
    made = set(
        Report.objects.filter(cutoff=cutoff, requested_by=None)
        .exclude(status=Report.Status.FAILED)
        .values_list("kind", flat=True)
    )
    return [
        report_request(actor=None, kind=kind, cutoff=cutoff)
        for kind in Report.Kind.values
        if kind not in made
    ]


def report_enqueue(report: Report) -> None:
    """Ask a worker to build ``report``'s current attempt once this commits."""
    report_id, attempt = report.pk, report.attempt

    def send():
        from outcomes.tasks import report_generate_task

        report_generate_task.delay(report_id=report_id, attempt=attempt)

    transaction.on_commit(send, robust=True)


class ReportSuperseded(Exception):
    """The build no longer holds its claim: the recovery sweep re-queued the
    report as a later attempt (or it is not running any more)."""


def _claimed(report_id: int, attempt: int):
    return Report.objects.filter(
        pk=report_id, status=Report.Status.RUNNING, attempt=attempt
    )


def _progress_setter(report_id: int, attempt: int):
    def progress(percent: int, stage: str) -> None:
        # Committed at once (the task runs in autocommit), so the page that
        # polls the report sees each stage while the build goes on, and the
        # recovery sweep sees a heartbeat (database time, so the clocks of
        # worker and beat hosts do not matter). If the sweep has given the
        # report to another attempt, this build stops here.
        updated = _claimed(report_id, attempt).update(
            progress=percent, stage=stage, heartbeat_at=Now()
        )
        if not updated:
            raise ReportSuperseded(f"Report {report_id}, attempt {attempt}")

    return progress


def _claim(report_id: int, attempt: int | None) -> Report | None:
    """Mark the queued report running for ``attempt`` (None: whichever attempt
    is queued, for tasks sent before attempts were numbered). One conditional
    UPDATE: of two deliveries of one task, the second finds it running."""
    queued = Report.objects.filter(pk=report_id, status=Report.Status.QUEUED)
    if attempt is not None:
        queued = queued.filter(attempt=attempt)
    claimed = queued.update(
        status=Report.Status.RUNNING,
        progress=1,
        stage="Starting",
        error="",
        started_at=Now(),
        heartbeat_at=Now(),
    )
    report = Report.objects.filter(pk=report_id).first()
    if not claimed:
        log.info(
            "Report %s attempt %s not claimed: %s",
            report_id,
            attempt,
            f"{report.status}, attempt {report.attempt}" if report else "gone",
        )
        return None
    return report


STORED_FIELDS = [
    "pdf_name",
    "json_name",
    "status",
    "progress",
    "stage",
    "generated_at",
    "platform_version",
    "dataset_sha256",
    "pdf_sha256",
    "pdf_size",
    "participants",
]


def _store(report: Report, built: BuiltReport) -> bool:
    """Write the files and mark the report ready (a draft), if this build
    still holds its claim. The row stays locked until the commit, so a
    recovery (or another build) waits and then finds the report ready."""
    with transaction.atomic():
        if not _claimed(report.pk, report.attempt).select_for_update().exists():
            return False
        # The same names for every attempt: a build killed after writing its
        # files leaves one set, which the next attempt overwrites.
        root = Path(settings.REPORTS_ROOT)
        folder = root / report.kind
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"perform-dsmb-{report.kind}-{report.cutoff}-{report.pk}"
        (folder / f"{stem}.pdf").write_bytes(built.pdf)
        (folder / f"{stem}.json").write_text(json.dumps(built.content, indent=1))
        report.pdf_name = f"{report.kind}/{stem}.pdf"
        report.json_name = f"{report.kind}/{stem}.json"
        report.status = Report.Status.READY
        report.progress, report.stage = 100, "Ready"
        report.generated_at = datetime.datetime.fromisoformat(
            built.content["generated_at"]
        )
        report.platform_version = built.content["platform_version"]
        report.dataset_sha256 = built.dataset_sha256
        report.pdf_sha256 = hashlib.sha256(built.pdf).hexdigest()
        report.pdf_size = len(built.pdf)
        report.participants = built.content["participants"]
        report.save(update_fields=STORED_FIELDS)
    return True


def report_generate(*, report_id: int, attempt: int | None = None) -> Report | None:
    """Build and store report ``report_id`` as build ``attempt`` (the worker's
    task body). Returns the ready report, or None when this task had nothing
    to do or lost its claim to a later attempt."""
    report = _claim(report_id, attempt)
    if report is None:
        # Perhaps the broker redelivered the task of a build whose worker was
        # lost, before the recovery sweep noticed (or with beat stopped):
        # recover it the sweep's way. Does nothing to a live or ready report.
        from outcomes.recovery import report_recover

        report_recover(report_id=report_id)
        return None
    progress = _progress_setter(report.pk, report.attempt)
    try:
        built = report_build(kind=report.kind, cutoff=report.cutoff, progress=progress)
        progress(90, "Storing the report")
        stored = _store(report, built)
    except ReportSuperseded:
        stored = False
    except Exception as error:
        log.exception("Report %s attempt %s failed", report_id, report.attempt)
        _claimed(report_id, report.attempt).update(
            status=Report.Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    if not stored:
        log.warning(
            "Report %s attempt %s superseded by a later attempt; result discarded",
            report_id,
            report.attempt,
        )
        return None
    return report
