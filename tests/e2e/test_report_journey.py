"""Journey (issue 6, must-show 5; PROTOCOL §11): the statistician requests a
closed DSMB report and watches its progress while a real Celery worker builds
it. It is a draft: a DSMB member sees nothing of it, not even by its URL, and
nobody is e-mailed. The statistician releases it with a note; the DSMB member,
e-mailed a link (through the real worker and a real SMTP server), follows it
and downloads the PDF, and the download is logged (and shown to the
statistician). The statistician withdraws it with a reason; the DSMB member is
told, sees it marked withdrawn and can no longer download it; the download log
keeps the earlier download.

With ``E2E_SCREENSHOT_DIR`` set, the report page is saved there as each of
them sees it, 1366 and 390 pixels wide.
"""

import hashlib
import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from infrastructure.models import OutboundEmail
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

NOTE = "For the DSMB meeting of 12 March: first interim look."
REASON = "Data cut-off set one month too early; a corrected report follows."
WIDTHS = {"wide": 1366, "narrow": 390}


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


def screenshots(page: Page, name: str) -> None:
    """The page at each width: nothing wider than the window (no sideways
    scrolling); saved to ``E2E_SCREENSHOT_DIR`` when it is set."""
    folder = os.environ.get("E2E_SCREENSHOT_DIR")
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{name} at {width} px is {overflow} px too wide"
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": WIDTHS["wide"], "height": 900})


def messages_about(mailbox, words: str) -> list:
    return [m for m in mailbox.messages if words in m.subject]


def accept_next_dialog(page: Page) -> None:
    """The release and withdraw forms ask for confirmation (data-confirm)."""
    page.once("dialog", lambda dialog: dialog.accept())


def test_closed_report_is_a_draft_until_released_then_downloaded_then_withdrawn(
    new_page, live_server, users, site_a, site_b, password, worker, settings
):
    mailbox, process = worker
    settings.SITE_URL = live_server.url  # the links in the e-mails
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
    report_url = f"{live_server.url}/reports/{report.pk}/"

    # A draft: the statistician is offered the release; nobody is e-mailed.
    expect(statistician.locator("#release-state")).to_contain_text("Draft")
    expect(statistician.locator("#report-release-form")).to_be_visible()
    assert not OutboundEmail.objects.exists()
    screenshots(statistician, "statistician-draft")

    dsmb: Page = new_page()
    dsmb_problems = console_problems(dsmb)
    login(dsmb, live_server, "dsmb", password)
    expect(dsmb.locator("h1")).to_have_text("DSMB reports")  # home for the DSMB
    expect(dsmb.locator("#report-table tbody")).to_have_text("No report yet.")
    assert dsmb.goto(report_url).status == 404
    expect(dsmb.locator("#error-404")).to_be_visible()
    for url in (f"{report_url}pdf/", f"{report_url}status/"):
        assert dsmb.goto(url).status == 404, url

    # Cancelling the confirmation sends nothing and leaves the button usable
    # (the double-submit guard must not disable a form that was not sent).
    statistician.fill("#id_note", NOTE)
    statistician.once("dialog", lambda dialog: dialog.dismiss())
    statistician.click("#report-release-submit")
    expect(statistician.locator("#report-release-submit")).to_be_enabled()
    assert not Report.objects.get().released_at

    # A note of spaces passes the browser's check, not the server's.
    statistician.fill("#id_note", "   ")
    accept_next_dialog(statistician)
    statistician.click("#report-release-submit")
    expect(statistician.locator("#error-summary")).to_contain_text(
        "Write a release note for the DSMB."
    )
    assert not Report.objects.get().released_at
    statistician.fill("#id_note", NOTE)
    accept_next_dialog(statistician)
    statistician.click("#report-release-submit")
    expect(statistician.locator(".alert-success")).to_contain_text("Report released")
    expect(statistician.locator("#release-state")).to_contain_text("Released")
    expect(statistician.locator("#release-note")).to_have_text(NOTE)
    expect(statistician.locator("#report-withdraw-form")).to_be_visible()
    expect(statistician.locator("#report-recommendation-form")).to_be_visible()
    screenshots(statistician, "statistician-released")

    # The DSMB member is e-mailed a link to the report page, not the file.
    assert wait_for(lambda: messages_about(mailbox, "released"), seconds=60), (
        process.log()
    )
    (message,) = messages_about(mailbox, "DSMB closed report released")
    assert message.to == (users["dsmb"].email,)
    assert NOTE in message.text and "%PDF" not in message.text
    link = re.search(r"https?://\S+/reports/\d+/", message.text).group(0)
    assert link == report_url

    dsmb.goto(link)
    expect(dsmb.locator("#release-state")).to_contain_text("Released")
    expect(dsmb.locator("#release-note")).to_have_text(NOTE)
    expect(dsmb.locator("#report-release-form")).to_have_count(0)
    expect(dsmb.locator("#report-withdraw-form")).to_have_count(0)
    screenshots(dsmb, "dsmb-released")
    with dsmb.expect_download() as download_info:
        dsmb.click("#download-pdf")
    pdf = Path(download_info.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Key to arm letters" in text and report.dataset_sha256 in text

    download = ReportDownload.objects.get()
    assert (download.user, download.report, download.format) == (
        users["dsmb"],
        report,
        "pdf",
    )
    assert download.sha256 == hashlib.sha256(pdf).hexdigest()
    statistician.reload()
    expect(statistician.locator("#report-downloads")).to_contain_text("dsmb")

    # Withdrawn, with the reason: the DSMB is told and can no longer download.
    statistician.fill("#id_reason", REASON)
    accept_next_dialog(statistician)
    statistician.click("#report-withdraw-submit")
    expect(statistician.locator(".alert-success")).to_contain_text("Report withdrawn")
    expect(statistician.locator("#report-withdrawn")).to_contain_text(
        f"Withdrawn: {REASON}"
    )
    assert wait_for(lambda: messages_about(mailbox, "withdrawn"), seconds=60), (
        process.log()
    )
    (notice,) = messages_about(mailbox, "DSMB closed report withdrawn")
    assert REASON in notice.text and notice.to == (users["dsmb"].email,)

    dsmb.goto(f"{live_server.url}/reports/")
    row = dsmb.locator(f'tr[data-report="{report.pk}"]')
    expect(row).to_contain_text(f"Withdrawn: {REASON}")
    expect(row.get_by_role("link", name="Download PDF")).to_have_count(0)
    screenshots(dsmb, "dsmb-list-withdrawn")
    dsmb.goto(report_url)
    expect(dsmb.locator("#report-withdrawn")).to_contain_text(f"Withdrawn: {REASON}")
    expect(dsmb.locator("#download-pdf")).to_be_hidden()
    screenshots(dsmb, "dsmb-withdrawn")
    assert dsmb.goto(f"{report_url}pdf/").status == 404

    # The earlier download stays in the log.
    statistician.goto(f"{live_server.url}/reports/downloads/")
    expect(statistician.locator('#download-table tr[data-user="dsmb"]')).to_have_count(
        1
    )
    assert ReportDownload.objects.count() == 1
    statistician.goto(report_url)
    screenshots(statistician, "statistician-withdrawn")
    # The 404 pages the DSMB was shown are expected console errors.
    dsmb_problems = [p for p in dsmb_problems if "404" not in p]
    assert not problems and not dsmb_problems, problems + dsmb_problems
