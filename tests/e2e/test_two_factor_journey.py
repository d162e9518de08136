"""Journey: a statistician (a role that needs two-factor authentication) logs in
with a password only, is sent to set up an authenticator, makes recovery
codes, then logs in with a code from the app, once with a recovery code (which
then no longer works), and is locked out after repeated wrong codes. The codes
are computed here from the secret the set-up page shows, as the phone would.
"""

import base64
import time

import pytest
from django.conf import settings
from django_otp.oath import hotp
from playwright.sync_api import Page, expect

from tests.e2e.conftest import console_problems, login_submit

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]


@pytest.fixture(autouse=True)
def two_factor_required(settings):
    settings.TWO_FACTOR_REQUIRED = True


def app_code(secret: str, *, ahead: int = 1) -> str:
    """The code an authenticator shows for ``secret`` (base32), ``ahead``
    30-second steps from now: one step ahead is within the server's tolerance
    and never a code an earlier step of the journey already used."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30 + ahead
    return f"{hotp(key, counter, digits=6):06d}"


def log_out(page: Page):
    with page.expect_navigation():
        page.click("#logout")


def password_step(page: Page, live_server, password):
    login_submit(page, live_server, "statistician", password)


def test_two_factor_set_up_log_in_recovery_code_and_lockout(
    new_page, live_server, users, password
):
    page = new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    problems = console_problems(page)

    # 1. Password only: the role needs a second factor, so set-up comes first.
    password_step(page, live_server, password)
    expect(page.locator("#otp-required")).to_be_visible()
    page.goto(f"{live_server.url}/reports/")
    expect(page).to_have_url(f"{live_server.url}/account/security/setup/")
    page.click("#wizard-next")  # the welcome step
    secret = page.locator("#totp-secret").inner_text()
    assert len(secret.replace(" ", "")) >= 16
    page.screenshot(path="test-results/two-factor-setup.png", full_page=True)
    page.fill("#id_generator-token", "123456")
    page.click("#wizard-next")
    expect(page.locator(".invalid-feedback, #form-errors").first).to_be_visible()
    page.fill("#id_generator-token", app_code(secret, ahead=0))
    page.click("#wizard-next")
    expect(page.locator("#otp-enabled")).to_be_visible()
    page.click("#make-recovery-codes")
    page.click("#generate-recovery-codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    # Verified by the set-up: the reports page opens now.
    page.goto(f"{live_server.url}/reports/")
    expect(page.locator("h1")).to_contain_text("DSMB reports")
    log_out(page)

    # 2. Password, then the app's code.
    password_step(page, live_server, password)
    expect(page.locator("#otp-prompt")).to_be_visible()
    page.fill("#id_token-otp_token", app_code(secret, ahead=1))
    page.click("#wizard-next")
    expect(page.locator("#current-user")).to_have_text("statistician")
    log_out(page)

    # 3. A recovery code works once.
    password_step(page, live_server, password)
    page.click("#use-recovery-code")
    expect(page.locator("#recovery-prompt")).to_be_visible()
    page.fill("#id_backup-otp_token", codes[0])
    page.click("#wizard-next")
    expect(page.locator("#current-user")).to_have_text("statistician")
    log_out(page)
    password_step(page, live_server, password)
    page.click("#use-recovery-code")
    page.fill("#id_backup-otp_token", codes[0])
    page.click("#wizard-next")
    expect(page.locator("#current-user")).to_have_count(0)
    expect(page.locator("#login-form")).to_contain_text("Invalid token")
    time.sleep(1.1)  # django-otp's throttle after a failure (1 s)
    page.fill("#id_backup-otp_token", codes[1])
    page.click("#wizard-next")
    expect(page.locator("#current-user")).to_have_text("statistician")
    log_out(page)

    # 4. Wrong codes count toward the lockout, like wrong passwords.
    password_step(page, live_server, password)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        if page.locator("#locked-out").count():
            break
        page.fill("#id_token-otp_token", f"{attempt:06d}")
        page.click("#wizard-next")
    expect(page.locator("#locked-out")).to_be_visible()
    page.screenshot(path="test-results/two-factor-locked.png", full_page=True)
    # Locked: the right password and code no longer let anyone in.
    password_step(page, live_server, password)
    expect(page.locator("#current-user")).to_have_count(0)
    expect(page.locator("#locked-out")).to_be_visible()
    # The lockout pages answer 429, which Chromium logs as a failed load.
    assert [p for p in problems if "status of 429" not in p] == []
