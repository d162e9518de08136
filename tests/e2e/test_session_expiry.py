"""Journey (issue 15): nothing a user typed is lost to an expired session.

The coordinator fills in part of a baseline form, lets the (shortened) idle
session expire, presses Save, signs in again and finds the values back in the
form, then saves them. Pages warn before the session ends, and "Stay signed
in" renews it; staying on the page does not.
"""

import datetime
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crf.models import Baseline, FormStatus
from perform.kept_submissions import KEPT_MESSAGE, RESTORED_MESSAGE
from perform.models import PendingSubmission
from tests.clock import today
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

SHOTS = Path("/tmp/session-shots")  # noqa: S108 - the brief's screenshot folder
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
TYPED = {
    "haemoglobin_g_l": "117",
    "expected_survival_months": "9",
    "bone_loss_percent": "40",
}
TYPED_SELECTS = {"primary_cancer": "breast", "lesion_region": "intertrochanteric"}


@pytest.fixture
def baseline_url(live_server, users, site_a, screen):
    participant = screen(
        users["coordinator"],
        site_a,
        screening_date=today() - datetime.timedelta(days=5),
    )
    return f"{live_server.url}/participants/{participant.study_id}/forms/baseline/"


def screenshots(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=SHOTS / f"{name}-{label}-{width}.png", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_entries_posted_after_expiry_come_back_after_signing_in_again(
    page, live_server, users, password, settings, baseline_url
):
    problems = console_problems(page)
    settings.SESSION_COOKIE_AGE = 8
    settings.SESSION_WARNING_SECONDS = 6
    login(page, live_server, "coordinator", password)
    page.goto(baseline_url)
    assessment = (today() - datetime.timedelta(days=2)).isoformat()
    page.fill("#id_assessment_date", assessment)
    for name, value in TYPED_SELECTS.items():
        page.select_option(f"#id_{name}", value)
    for name, value in TYPED.items():
        page.fill(f"#id_{name}", value)

    # Idle past the expiry: the page says so, and Save keeps the entries.
    expect(page.locator("#session-ended-text")).to_be_visible(timeout=15_000)
    with page.expect_navigation():
        page.click("#save-draft")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("#content .alert-warning")).to_contain_text(KEPT_MESSAGE)
    assert PendingSubmission.objects.get().username == "coordinator"
    assert not Baseline.objects.exists()
    screenshots(page, "login-kept")

    settings.SESSION_COOKIE_AGE = 30 * 60
    page.fill("#id_auth-username", "coordinator")
    page.fill("#id_auth-password", password)
    with page.expect_navigation():
        page.click("#wizard-next")
    expect(page).to_have_url(baseline_url)
    expect(page.locator("#content .alert-info")).to_contain_text(RESTORED_MESSAGE)
    expect(page.locator("#id_assessment_date")).to_have_value(assessment)
    for name, value in {**TYPED, **TYPED_SELECTS}.items():
        expect(page.locator(f"#id_{name}")).to_have_value(value)
    assert not PendingSubmission.objects.exists()
    assert not Baseline.objects.exists()  # not saved until the user saves
    screenshots(page, "restored-form")

    with page.expect_navigation():
        page.click("#save-draft")
    saved = page.locator("#content .alert-success")
    expect(saved).to_contain_text("Baseline saved as Draft")
    baseline = Baseline.objects.get()
    assert (baseline.status, baseline.haemoglobin_g_l) == (FormStatus.DRAFT, 117)
    assert baseline.primary_cancer == "breast"
    assert problems == []


def test_the_warning_comes_before_expiry_and_stay_signed_in_renews(
    page, live_server, users, password, settings, baseline_url
):
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    settings.SESSION_COOKIE_AGE = 14
    settings.SESSION_WARNING_SECONDS = 11
    page.goto(baseline_url)
    loaded = time.monotonic()
    warning = page.locator("#session-expiry")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=8_000)
    expect(page.locator("#session-expiry-text")).to_contain_text(
        re.compile(r"Your session ends in \d+ seconds")
    )
    screenshots(page, "warning")

    page.click("#session-stay")
    expect(warning).to_be_hidden()
    stayed = time.monotonic()
    # Past the first expiry (nothing else was requested): still signed in.
    time.sleep(max(0.0, 14 + 1 - (time.monotonic() - loaded)))
    assert time.monotonic() - stayed < 13, "the machine is too slow for this test"
    page.goto(f"{live_server.url}/participants/")
    expect(page.locator("#current-user")).to_have_text("coordinator")

    # Staying on a page renews nothing: past the expiry, signed out.
    expect(page.locator("#session-ended-text")).to_be_visible(timeout=20_000)
    page.goto(f"{live_server.url}/participants/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert problems == []
