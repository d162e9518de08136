"""Playwright fixtures for the e2e journeys: one headless Chromium for them all.

The journeys run against pytest-django's ``live_server``, so every test uses a
transactional database that is emptied (flushed) afterwards, including the rows
data migrations wrote. ``migration_rows`` puts those back before each journey,
whatever ran before it.
"""

import os

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from playwright.sync_api import Page, expect, sync_playwright

from perform.roles import ROLE_PERMISSIONS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

# Reports every Content-Security-Policy violation as a console error, so the
# console listener of a journey sees it whatever wording Chromium uses.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`
  );
});
"""


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the e2e journeys (they run one after another).

    Playwright's sync API keeps an asyncio loop running in this thread until it
    stops, and Django refuses ORM calls while a loop runs (SynchronousOnlyOperation)
    unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The variable is set only for that
    span, not at import: ``manage.py check --deploy`` subprocesses of other tests
    inherit the environment and rightly fail on it (async.E001).
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
        finally:
            playwright.stop()


@pytest.fixture
def new_page(browser):
    """Open pages in fresh browser contexts (no shared cookies); closes them all."""
    contexts = []

    def _new_page() -> Page:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(CSP_REPORTER)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def migration_rows(transactional_db, reference_data):
    """Restore what data migrations wrote and an earlier flush removed.

    A plain flush re-runs post_migrate (content types, permissions, and the role
    groups through ``perform.apps``), but a flush after a ``serialized_rollback``
    or ``available_apps`` test does not, so it is run again (it is idempotent)
    when a role group is missing. The eligibility checklist comes from
    ``reference_data`` (tests/conftest.py).
    """
    if Group.objects.filter(name__in=ROLE_PERMISSIONS).count() < len(ROLE_PERMISSIONS):
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")


def console_problems(page: Page) -> list[str]:
    """Collect console errors (CSP violations among them) and uncaught exceptions
    of ``page`` from now on; the returned list fills as the page is used."""
    problems = []

    def on_console(message):
        if message.type != "error":
            return
        problems.append(f"console: {message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def login_submit(page: Page, live_server, username: str, password: str):
    """Fill in and post the login form; returns the response to the post."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_auth-username", username)
    page.fill("#id_auth-password", password)
    with page.expect_navigation() as navigation:
        page.click("#wizard-next")
    return navigation.value


def login(page: Page, live_server, username: str, password: str):
    """Log in through the login form and check that the navbar names the user."""
    response = login_submit(page, live_server, username, password)
    expect(page.locator("#current-user")).to_have_text(username)
    return response
