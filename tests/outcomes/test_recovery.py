"""Recovery of report builds whose worker was lost (``outcomes.recovery``).

The sweep's rules are tested first without workers: a build that stopped
beating is re-queued as the next attempt, a live one is left alone, a ready
report is never touched, the attempt limit fails the report with its reason,
an unclaimed queued report is sent again; an old attempt's task (redelivered
by the broker) does nothing, the lost attempt's own task redelivered before
any sweep recovers it, and of two builds only the one holding the claim
stores files (a built report is a draft: no build e-mails the DSMB).

Then the real thing (marked ``worker``): a ``celery worker`` process is
SIGKILLed mid-build, and a fresh worker plus a real ``celery beat`` finish the
report with nobody acting. The first worker is stopped at a fixed point by a
table lock the test holds (no test-only knob in the application code).
"""

import datetime
import hashlib
import importlib
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from infrastructure.models import OutboundEmail
from outcomes import services
from outcomes.models import Report, ReportEvent, ReportRecovery
from outcomes.recovery import reports_recover
from outcomes.release import report_release
from outcomes.services import report_generate, report_request
from perform import roles
from tests.dbsupport.roles import role_connection
from tests.factories import user_with_role
from tests.outcomes.conftest import CUTOFF, trial_build
from tests.workers import (
    BeatProcess,
    WorkerProcess,
    publishing_to_queue,
    queue_purge,
    smtp_server,
    wait_for,
)

beat_rows = importlib.import_module("outcomes.migrations.0004_report_recovery_sweep")

RECOVERY = {"STALE_SECONDS": 120, "UNCLAIMED_SECONDS": 600, "MAX_ATTEMPTS": 3}
STAGE = "Drawing figures and writing the PDF"


class WorkerKilled(BaseException):
    """Stands for SIGKILL in the unit tests: not an ``Exception``, so the
    build's error handler does not see it and the report stays running."""


@pytest.fixture
def recovery(settings, tmp_path):
    settings.REPORT_RECOVERY = dict(RECOVERY)
    settings.REPORTS_ROOT = str(tmp_path / "reports")
    return settings.REPORT_RECOVERY


@pytest.fixture
def reports_root(recovery, settings):
    return Path(settings.REPORTS_ROOT)


@pytest.fixture
def sent(monkeypatch):
    """The build tasks sent, as (report id, attempt); the unit tests run the
    sweep's on-commit callbacks, never the build's (no message reaches Redis)."""
    from outcomes.tasks import report_generate_task

    calls = []
    monkeypatch.setattr(
        report_generate_task,
        "delay",
        lambda *, report_id, attempt: calls.append((report_id, attempt)),
    )
    return calls


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def report_in(status: str, *, kind="closed", **fields) -> Report:
    return Report.objects.create(kind=kind, cutoff=CUTOFF, status=status, **fields)


def sweep(django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return reports_recover()


def test_running_report_silent_past_the_threshold_is_requeued_as_the_next_attempt(
    db, recovery, sent, django_capture_on_commit_callbacks
):
    silent_since = ago(seconds=121)
    report = report_in("running", stage=STAGE, progress=60, heartbeat_at=silent_since)

    assert sweep(django_capture_on_commit_callbacks) == {"requeued": 1}

    report.refresh_from_db()
    assert (report.status, report.attempt, report.progress) == ("queued", 2, 0)
    assert report.heartbeat_at is None
    assert report.stage == (
        "Re-queued automatically after a lost worker (attempt 2 of 3)"
    )
    assert sent == [(report.pk, 2)]
    (recovery_row,) = report.recoveries.all()
    assert (recovery_row.action, recovery_row.attempt, recovery_row.stage) == (
        "requeued",
        1,
        STAGE,
    )
    assert recovery_row.last_heartbeat == silent_since
    # Done once: the next sweep finds a queued report, claimed by no one yet
    # but queued only just now.
    assert sweep(django_capture_on_commit_callbacks) == {}
    assert len(sent) == 1


def test_running_report_with_a_recent_heartbeat_is_left_alone(
    db, recovery, sent, django_capture_on_commit_callbacks
):
    report = report_in("running", stage=STAGE, heartbeat_at=ago(seconds=100))
    assert sweep(django_capture_on_commit_callbacks) == {}
    report.refresh_from_db()
    assert (report.status, report.attempt, report.stage) == ("running", 1, STAGE)
    assert not sent and not ReportRecovery.objects.exists()


def test_ready_and_failed_reports_are_never_touched(
    db, recovery, sent, django_capture_on_commit_callbacks
):
    ready = report_in("ready", heartbeat_at=ago(days=3), queued_at=ago(days=3))
    failed = report_in("failed", kind="open", heartbeat_at=ago(days=3))
    assert sweep(django_capture_on_commit_callbacks) == {}
    # Nor does a (redelivered) build task rebuild the ready one.
    assert report_generate(report_id=ready.pk, attempt=1) is None
    assert report_generate(report_id=ready.pk) is None
    for report in (ready, failed):
        before = report.status
        report.refresh_from_db()
        assert report.status == before
    assert not sent and not ReportRecovery.objects.exists()


def test_lost_at_the_last_attempt_fails_with_the_reason_and_frees_the_cutoff(
    db, users, recovery, sent, django_capture_on_commit_callbacks
):
    report = report_in("running", attempt=3, stage=STAGE, heartbeat_at=ago(hours=1))

    assert sweep(django_capture_on_commit_callbacks) == {"gave_up": 1}

    report.refresh_from_db()
    assert report.status == "failed"
    assert report.error.startswith("Gave up after 3 attempts")
    assert f"'{STAGE}'" in report.error
    assert not sent
    assert [r.action for r in report.recoveries.all()] == ["gave_up"]
    # The stuck report no longer blocks a new request for its kind and cut-off.
    again = report_request(actor=users["statistician"], kind="closed", cutoff=CUTOFF)
    assert again.pk != report.pk and again.status == "queued"


def test_limit_is_a_setting(db, recovery, sent, django_capture_on_commit_callbacks):
    recovery["MAX_ATTEMPTS"] = 1
    report = report_in("running", stage=STAGE, heartbeat_at=ago(hours=1))
    assert sweep(django_capture_on_commit_callbacks) == {"gave_up": 1}
    report.refresh_from_db()
    assert report.error.startswith("Gave up after 1 attempt:")


def test_queued_report_no_worker_claimed_is_sent_again_without_using_an_attempt(
    db, recovery, sent, django_capture_on_commit_callbacks
):
    report = report_in("queued", queued_at=ago(seconds=601))
    waiting = report_in("queued", kind="open", queued_at=ago(seconds=500))

    assert sweep(django_capture_on_commit_callbacks) == {"resent": 1}
    assert sent == [(report.pk, 1)]
    report.refresh_from_db()
    assert (report.status, report.attempt) == ("queued", 1)
    assert report.queued_at > ago(seconds=10)
    waiting.refresh_from_db()
    assert not waiting.recoveries.exists()

    # Still nobody after another ten minutes: sent again, on the same row.
    Report.objects.filter(pk=report.pk).update(queued_at=ago(seconds=601))
    assert sweep(django_capture_on_commit_callbacks) == {"resent": 1}
    (row,) = report.recoveries.all()
    assert (row.action, row.attempt, row.times) == ("resent", 1, 2)
    assert sent == [(report.pk, 1), (report.pk, 1)]


def killed_during(stage: str, percent: int = 60):
    """A ``report_build`` whose worker dies at ``stage``."""

    def build(*, kind, cutoff, progress, **kwargs):
        progress(5, "Reading trial data")
        progress(percent, stage)
        raise WorkerKilled

    return build


@pytest.fixture
def dsmb_members(users):
    second = user_with_role(roles.DSMB_MEMBER, username="dsmb2")
    return [users["dsmb"], second]


def report_files(root) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()
    )


def test_old_attempt_redelivered_after_recovery_does_nothing_and_the_new_one_builds(
    trial,
    users,
    dsmb_members,
    reports_root,
    sent,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    report = report_request(actor=users["statistician"], kind="closed", cutoff=CUTOFF)
    real_build = services.report_build
    monkeypatch.setattr(services, "report_build", killed_during(STAGE))
    with pytest.raises(WorkerKilled):
        report_generate(report_id=report.pk, attempt=1)
    monkeypatch.setattr(services, "report_build", real_build)
    report.refresh_from_db()
    assert (report.status, report.stage) == ("running", STAGE)

    # A second copy of the attempt-1 task while it runs: not claimed, and the
    # live build is not taken for a lost one.
    assert report_generate(report_id=report.pk, attempt=1) is None
    assert not report.recoveries.exists() and not sent
    Report.objects.filter(pk=report.pk).update(heartbeat_at=ago(minutes=5))
    assert sweep(django_capture_on_commit_callbacks) == {"requeued": 1}

    # The broker redelivers the lost attempt-1 task (visibility timeout): no-op.
    assert report_generate(report_id=report.pk, attempt=1) is None
    report.refresh_from_db()
    assert (report.status, report.attempt) == ("queued", 2)

    assert report_generate(report_id=report.pk, attempt=2) is not None
    report.refresh_from_db()
    assert (report.status, report.attempt, report.progress) == ("ready", 2, 100)
    assert report_generate(report_id=report.pk, attempt=2) is None
    assert report_generate(report_id=report.pk, attempt=1) is None

    assert report_files(reports_root) == [report.json_name, report.pdf_name]
    # A draft: the DSMB hears of it when the statistician releases it.
    assert not OutboundEmail.objects.exists()


def test_task_redelivered_for_a_lost_build_recovers_it_without_the_sweep(
    trial, users, recovery, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """Beat stopped: the broker's redelivery (after the visibility timeout) of
    the lost build's own task re-queues the report as the sweep would."""
    report = report_request(actor=users["statistician"], kind="closed", cutoff=CUTOFF)
    monkeypatch.setattr(services, "report_build", killed_during(STAGE))
    with pytest.raises(WorkerKilled):
        report_generate(report_id=report.pk, attempt=1)
    Report.objects.filter(pk=report.pk).update(heartbeat_at=ago(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert report_generate(report_id=report.pk, attempt=1) is None

    report.refresh_from_db()
    assert (report.status, report.attempt) == ("queued", 2)
    assert [(r.action, r.stage) for r in report.recoveries.all()] == [
        ("requeued", STAGE)
    ]
    assert sent == [(report.pk, 2)]


def test_of_two_builds_only_the_one_holding_the_claim_stores_the_result(
    trial,
    users,
    dsmb_members,
    reports_root,
    sent,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Attempt 1 is presumed lost but still runs; meanwhile attempt 2 builds
    and stores the report; attempt 1 then finishes its build and must neither
    overwrite the files nor mark or fail anything."""
    report = report_request(actor=users["statistician"], kind="closed", cutoff=CUTOFF)
    real_build = services.report_build
    meanwhile = []

    def slow_first_build(**kwargs):
        built = real_build(**kwargs)
        if not meanwhile:  # attempt 1, with its build done but not yet stored
            meanwhile.append("attempt 2")
            Report.objects.filter(pk=report.pk).update(heartbeat_at=ago(minutes=5))
            assert sweep(django_capture_on_commit_callbacks) == {"requeued": 1}
            assert report_generate(report_id=report.pk, attempt=2) is not None
        return built

    monkeypatch.setattr(services, "report_build", slow_first_build)
    assert report_generate(report_id=report.pk, attempt=1) is None

    report.refresh_from_db()
    assert (report.status, report.attempt) == ("ready", 2)
    assert report_files(reports_root) == [report.json_name, report.pdf_name]
    pdf = (reports_root / report.pdf_name).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    assert not OutboundEmail.objects.exists()


def test_build_superseded_mid_way_stops_at_its_next_stage_without_failing(
    trial, users, recovery, sent, monkeypatch, django_capture_on_commit_callbacks
):
    report = report_request(actor=users["statistician"], kind="closed", cutoff=CUTOFF)

    def build(*, kind, cutoff, progress, **kwargs):
        progress(5, "Reading trial data")
        Report.objects.filter(pk=report.pk).update(heartbeat_at=ago(minutes=5))
        sweep(django_capture_on_commit_callbacks)
        progress(30, "Computing the dataset digest")
        raise AssertionError("not reached: the build lost its claim")

    monkeypatch.setattr(services, "report_build", build)
    assert report_generate(report_id=report.pk, attempt=1) is None
    report.refresh_from_db()
    assert (report.status, report.attempt, report.error) == ("queued", 2, "")


def test_statistician_sees_the_recovery_history_on_the_report_and_list_pages(
    client, users, recovery, sent, django_capture_on_commit_callbacks
):
    lost_at = ago(minutes=10)
    report = report_in("running", stage=STAGE, heartbeat_at=lost_at)
    sweep(django_capture_on_commit_callbacks)
    Report.objects.filter(pk=report.pk).update(status="ready")

    client.force_login(users["statistician"])
    page = client.get(reverse("outcomes:report_detail", args=[report.pk]))
    history = page.content.decode().split('id="report-recoveries"')[1]
    history = history.split("</ul>")[0]
    local = timezone.localtime(lost_at).strftime("%H:%M")
    assert f"worker lost at {local} during ‘{STAGE}’ (attempt 1)" in " ".join(
        history.split()
    )
    assert "re-queued automatically (attempt 2)" in history
    listing = client.get(reverse("outcomes:report_list")).content.decode()
    assert 'data-recoveries="1"' in listing

    report_release(report=report, user=users["statistician"], note="Released.")
    client.force_login(users["dsmb"])
    page = client.get(reverse("outcomes:report_detail", args=[report.pk]))
    assert page.status_code == 200
    assert b"report-recoveries" not in page.content

    unclaimed = report_in("queued", kind="open", queued_at=ago(hours=1))
    for _ in range(2):
        sweep(django_capture_on_commit_callbacks)
        Report.objects.filter(pk=unclaimed.pk).update(queued_at=ago(hours=1))
    client.force_login(users["statistician"])
    page = client.get(reverse("outcomes:report_detail", args=[unclaimed.pk]))
    history = " ".join(page.content.decode().split())
    assert (
        "no worker had picked up attempt 1; sent to the workers again "
        "(2 times, the last shown)." in history
    )


# --- With real processes ------------------------------------------------------

STALE_SECONDS = 5
SWEEP_SECONDS = 2
# Start-up of the new worker and the whole build of the small trial's closed
# report, on a loaded 2-core machine, with margin.
BUILD_SECONDS = 60
RECOVERY_DEADLINE = STALE_SECONDS + SWEEP_SECONDS + BUILD_SECONDS


@contextmanager
def table_locked(table: str):
    """Hold an ACCESS EXCLUSIVE lock on ``table`` from a connection of its own,
    so that any worker reading or writing it waits; yields a function telling
    how many sessions are waiting for the lock. The connection is the owner's:
    the application role may not lock an audit table so. Closing it (rolled
    back) releases the lock."""
    with role_connection("owner") as raw:
        with raw.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')

        def waiting() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE relation = %s::regclass AND NOT granted",
                    [table],
                )
                return cursor.fetchone()[0]

        yield waiting


def sweep_every(seconds: int) -> None:
    """The recovery row as the migration makes it, every ``seconds``; every
    other periodic task of the test database disabled."""
    beat_rows.create(apps, None)
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name=beat_rows.NAME).update(
        interval=interval, enabled=True, last_run_at=None
    )
    PeriodicTask.objects.exclude(name=beat_rows.NAME).update(enabled=False)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_report_whose_worker_is_killed_mid_build_is_finished_by_beat_and_a_new_worker(
    users, site_a, site_b, dsmb_members, tmp_path, settings, client
):
    """The first worker is held at a real point of the build: after writing
    the report files, inside the transaction that marks the report ready, it
    waits for a lock the test holds on the report's audit event table (taken
    once the build has claimed the report, whose event is then written). It is
    SIGKILLed there (files written, nothing committed). Then a new worker and
    ``celery beat`` are started, and nobody else acts until the report is
    ready; the statistician's release then e-mails each DSMB member once."""
    trial_build(users, site_a, site_b)
    reports_root = tmp_path / "reports"
    settings.REPORTS_ROOT = str(reports_root)
    env = {
        "REPORTS_ROOT": str(reports_root),
        "REPORT_STALE_SECONDS": str(STALE_SECONDS),
    }
    sweep_every(SWEEP_SECONDS)
    queue_purge()
    with smtp_server() as (mailbox, port), publishing_to_queue():
        first = WorkerProcess(smtp_port=port, log_dir=tmp_path, env=env).start()
        report = report_request(
            actor=users["statistician"], kind="closed", cutoff=CUTOFF
        )
        claimed = Report.objects.filter(pk=report.pk, status="running")
        assert wait_for(claimed.exists), first.log()
        with table_locked(ReportEvent._meta.db_table) as waiting:
            assert wait_for(waiting), first.log()
            report.refresh_from_db()
            assert (report.status, report.attempt) == ("running", 1)
            assert report.stage == "Storing the report"
            assert (reports_root / "closed").is_dir(), "the files are written"
            first.kill()
        killed = time.monotonic()

        second = WorkerProcess(smtp_port=port, log_dir=tmp_path, env=env)
        second.started = 1  # its own log file
        second.start()
        beat = BeatProcess(smtp_port=port, log_dir=tmp_path, env=env).start()
        try:
            done = wait_for(
                lambda: Report.objects.filter(
                    pk=report.pk, status__in=["ready", "failed"]
                ).exists(),
                seconds=RECOVERY_DEADLINE,
                interval=0.5,
            )
            took = time.monotonic() - killed
            logs = second.log() + beat.log()
            assert done, logs
            report.refresh_from_db()
            assert (report.status, report.attempt) == ("ready", 2), logs
            print(f"killed worker's report ready {took:.1f} s after the kill")
            assert "reports_recover_task" in beat.log()

            (recovery,) = report.recoveries.all()
            assert (recovery.action, recovery.attempt, recovery.stage) == (
                "requeued",
                1,
                "Storing the report",
            )
            client.force_login(users["statistician"])
            page = client.get(reverse("outcomes:report_detail", args=[report.pk]))
            history = " ".join(page.content.decode().split())
            assert "during ‘Storing the report’ (attempt 1); re-queued" in history
            assert "re-queued automatically (attempt 2)" in history

            # One set of files, those of the build that stored the result.
            assert report_files(reports_root) == [report.json_name, report.pdf_name]
            pdf = (reports_root / report.pdf_name).read_bytes()
            assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256

            # A draft: nobody is e-mailed until the statistician releases it;
            # then one e-mail per DSMB member.
            def dsmb_mail():
                return [
                    m for m in mailbox.messages if "DSMB closed report" in m.subject
                ]

            assert not OutboundEmail.objects.exists()
            report_release(report=report, user=users["statistician"], note="Go.")
            assert wait_for(lambda: len(dsmb_mail()) >= 2), second.log()
            # The killed attempt's task, redelivered late by the broker.
            from outcomes.tasks import report_generate_task

            result = report_generate_task.delay(report_id=report.pk, attempt=1)
            assert result.get(timeout=60)["built"] is False
            assert wait_for(second.idle), second.log()
            assert Counter(m.to[0] for m in dsmb_mail()) == Counter(
                u.email for u in dsmb_members
            )
            assert OutboundEmail.objects.filter(kind="dsmb_report").count() == 2
            assert report_files(reports_root) == [report.json_name, report.pdf_name]
            assert (reports_root / report.pdf_name).read_bytes() == pdf
        finally:
            beat.stop()
            second.stop()
