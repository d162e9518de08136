"""Recovery of DSMB report builds whose worker was lost: the sweep beat runs
every minute (``outcomes.tasks.reports_recover_task``).

A report build is long, late-acknowledged and leaves state behind (the report
says *Generating*, and the partial unique constraint on kind and cut-off
blocks a new request). If its worker is killed, the broker hands the task to
another worker only after ``CELERY_VISIBILITY_TIMEOUT`` (an hour), or never if
the broker lost the message. So the build records a heartbeat
(``Report.heartbeat_at``, at each progress stage, in database time) and this
sweep, with ``settings.REPORT_RECOVERY``:

* a **running** report with no heartbeat for ``STALE_SECONDS`` lost its
  worker: it is queued again as the next attempt and a task is sent for it;
  at the ``MAX_ATTEMPTS``-th lost build it is marked *failed* instead, with
  the reason, so a report that kills its worker every time does not loop;
* a **queued** report that no worker claimed for ``UNCLAIMED_SECONDS`` (its
  message lost, or sent while the broker was down) is sent again, same
  attempt; this does not count towards the limit.

Each action is a ``ReportRecovery`` row, shown on the report page. A task of
an earlier attempt that the broker redelivers later, or a second copy of a
task, cannot claim the report (``services.report_generate``): only one build
of an attempt runs to the end, and only the build holding the claim stores
files and marks the report ready. A ready report is never touched. A build
task that cannot claim its report runs ``report_recover`` on it, so a task
the broker redelivers after ``CELERY_VISIBILITY_TIMEOUT`` for a lost build
still recovers it if beat was not running.

Why ``STALE_SECONDS`` = 120 by default: heartbeats come at each stage, and the
longest stage measured (``benchmarks/report.py``, closed report of 20,000
participants, 60 times the trial's target, on a 2-core machine) is 6.4 s
(drawing figures and writing the PDF; reading the trial data 6.3 s). Two
minutes leave a margin of about 20 for a busy host, yet a lost build is
re-queued within about three minutes (threshold plus one sweep interval).
Every build is also cut off by the task's soft time limit
(``CELERY_TASK_SOFT_TIME_LIMIT``, 4 minutes), so no stage can legitimately
stay silent for 2 minutes; no background heartbeat thread is needed. Were the
threshold too short, a slow build would be re-queued while it still runs:
wasted work and an attempt used, never a wrong or doubled report.

Only report builds need this. The other periodic and late-acknowledged tasks
already recover by design: an outbox e-mail whose send task was lost stays
*pending* and ``outbox_flush`` (every minute) sends it again; the reminder
sweep runs hourly and its outbox keys make a re-run add nothing; allocation
e-mails are re-queued by ``allocation_notify_pending`` (5 minutes); the daily
data checks reconcile with the queries already raised. None of them leaves a
row saying "in progress" that only its own task could clear.
"""

import datetime
import logging
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.template.defaultfilters import pluralize

from outcomes.models import Report, ReportRecovery
from outcomes.services import report_enqueue

log = logging.getLogger(__name__)


def _seconds(name: str) -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.REPORT_RECOVERY[name])


def _due() -> Q:
    """Reports the sweep acts on, as of the database's clock."""
    lost = Q(status=Report.Status.RUNNING) & (
        Q(heartbeat_at__lt=Now() - _seconds("STALE_SECONDS"))
        # Claimed before builds recorded heartbeats.
        | Q(heartbeat_at__isnull=True)
    )
    unclaimed = Q(
        status=Report.Status.QUEUED,
        queued_at__lt=Now() - _seconds("UNCLAIMED_SECONDS"),
    )
    return lost | unclaimed


def reports_recover() -> dict[str, int]:
    """Re-queue, fail or resend every report due (see the module docstring).

    Returns how many reports got each ``ReportRecovery.Action``. Idempotent
    and safe to run concurrently: each report is re-checked under its row
    lock, and one being stored right now (locked) is left for the next sweep.
    """
    done = Counter()
    for report_id in Report.objects.filter(_due()).values_list("pk", flat=True):
        action = report_recover(report_id=report_id)
        if action:
            done[action] += 1
    return dict(done)


@transaction.atomic
def report_recover(*, report_id: int) -> str | None:
    """Recover report ``report_id`` if it is due (the sweep's step, also taken
    by a build task that finds its report running: a redelivery after a lost
    worker). Returns the action taken, or None."""
    report = (
        Report.objects.select_for_update(skip_locked=True)
        .filter(_due(), pk=report_id)
        .first()
    )
    if report is None:
        return None
    if report.status == Report.Status.QUEUED:
        _resend(report)
        return ReportRecovery.Action.RESENT
    if report.attempt >= settings.REPORT_RECOVERY["MAX_ATTEMPTS"]:
        _give_up(report)
        return ReportRecovery.Action.GAVE_UP
    _requeue(report)
    return ReportRecovery.Action.REQUEUED


def _lost(report: Report, action: str) -> ReportRecovery:
    log.warning(
        "Report %s: worker lost during %r (attempt %s, last heartbeat %s): %s",
        report.pk,
        report.stage,
        report.attempt,
        report.heartbeat_at,
        action,
    )
    return ReportRecovery.objects.create(
        report=report,
        action=action,
        attempt=report.attempt,
        stage=report.stage,
        last_heartbeat=report.heartbeat_at,
    )


def _requeue(report: Report) -> None:
    _lost(report, ReportRecovery.Action.REQUEUED)
    attempt = report.attempt + 1
    limit = settings.REPORT_RECOVERY["MAX_ATTEMPTS"]
    Report.objects.filter(pk=report.pk).update(
        status=Report.Status.QUEUED,
        attempt=attempt,
        queued_at=Now(),
        heartbeat_at=None,
        progress=0,
        stage=f"Re-queued automatically after a lost worker (attempt {attempt} "
        f"of {limit})",
    )
    report.refresh_from_db()
    report_enqueue(report)


def _give_up(report: Report) -> None:
    _lost(report, ReportRecovery.Action.GAVE_UP)
    Report.objects.filter(pk=report.pk).update(
        status=Report.Status.FAILED,
        heartbeat_at=None,
        error=(
            f"Gave up after {report.attempt} attempt{pluralize(report.attempt)}: "
            "the worker building the report was lost, the last time during "
            f"'{report.stage}'. Request it again once the cause is found (a "
            "worker killed for its memory use, for example)."
        ),
    )


def _resend(report: Report) -> None:
    last = report.recoveries.order_by("-at", "-id").first()
    if (
        last
        and last.action == ReportRecovery.Action.RESENT
        and last.attempt == report.attempt
    ):
        # One row however long the workers stay away.
        ReportRecovery.objects.filter(pk=last.pk).update(times=F("times") + 1, at=Now())
    else:
        ReportRecovery.objects.create(
            report=report, action=ReportRecovery.Action.RESENT, attempt=report.attempt
        )
    log.warning(
        "Report %s attempt %s not claimed by any worker: sent again",
        report.pk,
        report.attempt,
    )
    Report.objects.filter(pk=report.pk).update(queued_at=Now())
    report_enqueue(report)
