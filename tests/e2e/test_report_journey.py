"""Journey (issue 6, must-show 5): the statistician requests a closed DSMB
report, watches its progress while a real Celery worker builds it, and it
appears; a DSMB member, e-mailed a link, logs in, downloads it, and the
download is logged (and shown to the statistician)."""

import io
import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from outcomes.models import Report, ReportDownload
from tests.e2e.conftest import console_problems, login
from tests.outcomes.conftest import CUTOFF, trial_build
from tests.workers import (
    WorkerProcess,
    publishing_to_queue,
    queue_purge,
    smtp_server,
    wait_for,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]


@pytest.fixture
def worker(tmp_path):
    """A real ``celery worker`` on Redis and the test database, sending mail to
    a local SMTP server; the web process publishes to its queue."""
    with smtp_server() as (mailbox, port):
        queue_purge()
        process = WorkerProcess(
            smtp_port=port,
            log_dir=tmp_path,
            env={"REPORTS_ROOT": str(settings.REPORTS_ROOT)},
        )
        with publishing_to_queue():
            process.start()
            try:
                yield mailbox, process
            finally:
                process.stop()


def test_statistician_requests_a_closed_report_and_a_dsmb_member_downloads_it(
    new_page, live_server, users, site_a, site_b, password, worker
):
    mailbox, process = worker
    trial_build(users, site_a, site_b)
    statistician: Page = new_page()
    problems = console_problems(statistician)
    polls = []
    statistician.on(
        "response", lambda r: polls.append(r.status) if "/status/" in r.url else None
    )
    login(statistician, live_server, "statistician", password)
    statistician.get_by_role("link", name="DSMB reports").click()
    statistician.select_option("#id_kind", "closed")
    statistician.fill("#id_cutoff", CUTOFF.isoformat())
    statistician.click("#submit-id-submit")

    expect(statistician.locator("h1")).to_have_text(
        f"Closed (by arm) report, cut-off {CUTOFF}"
    )
    # Shown while the worker builds it; the page polls the status meanwhile,
    # then reloads with the result.
    expect(statistician.locator("#report-status")).to_have_text(
        re.compile("Queued|Generating")
    )
    expect(statistician.locator("#report-progress-bar")).to_be_visible()
    expect(statistician.locator("#report-status")).to_have_text(
        "Ready", timeout=120_000
    )
    expect(statistician.locator("#download-pdf")).to_be_visible()
    expect(statistician.locator("#report-progress-bar")).to_be_hidden()
    assert polls and set(polls) == {200}, polls
    report = Report.objects.get()
    assert report.status == "ready" and report.progress == 100
    assert report.dataset_sha256 in statistician.locator("dl").inner_text()
    assert "report_generate_task" in process.log()

    # The DSMB member is e-mailed a link to the report page, not the file.
    assert wait_for(lambda: mailbox.messages, seconds=60), process.log()
    (message,) = [m for m in mailbox.messages if "DSMB closed report" in m.subject]
    link = re.search(r"https?://\S+/reports/(\d+)/", message.text).group(0)
    assert link.endswith(f"/reports/{report.pk}/")

    dsmb: Page = new_page()
    dsmb_problems = console_problems(dsmb)
    login(dsmb, live_server, "dsmb", password)
    expect(dsmb.locator("h1")).to_have_text("DSMB reports")  # home for the DSMB
    row = dsmb.locator(f'tr[data-report="{report.pk}"]')
    expect(row).to_contain_text("Closed (by arm)")
    with dsmb.expect_download() as download_info:
        row.get_by_role("link", name="Download PDF").click()
    pdf = open(download_info.value.path(), "rb").read()  # noqa: SIM115
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Key to arm letters" in text and report.dataset_sha256 in text

    download = ReportDownload.objects.get()
    assert (download.user, download.report, download.format) == (
        users["dsmb"],
        report,
        "pdf",
    )
    statistician.reload()
    expect(statistician.locator("#report-downloads")).to_contain_text("dsmb")
    statistician.goto(f"{live_server.url}/reports/downloads/")
    expect(statistician.locator('#download-table tr[data-user="dsmb"]')).to_have_count(
        1
    )
    assert not problems and not dsmb_problems, problems + dsmb_problems
