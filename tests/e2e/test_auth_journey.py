"""Journey: log-in is required, repeated failures lock the account (django-axes),
and logging out ends the session."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.conftest import login, login_submit

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

LOGIN_PATH = "/accounts/login/"


def test_anonymous_visitor_is_sent_to_the_login_page(page, live_server):
    response = page.goto(f"{live_server.url}/participants/")
    assert response.status == 200
    assert response.request.redirected_from is not None
    expect(page).to_have_url(f"{live_server.url}{LOGIN_PATH}?next=/participants/")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#current-user")).to_have_count(0)


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(
    page, live_server, users, password
):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for attempt in range(1, limit):
        login_submit(page, live_server, "coordinator", f"wrong-password-{attempt}")
        expect(page.locator("#login-form")).to_contain_text(
            "Please enter a correct username and password"
        )
    login_submit(page, live_server, "coordinator", f"wrong-password-{limit}")
    expect(page.locator("#locked-out")).to_be_visible()

    response = login_submit(page, live_server, "coordinator", password)
    assert response.status == settings.AXES_HTTP_RESPONSE_CODE
    expect(page.locator("#locked-out")).to_have_text("Too many failed log-in attempts")
    expect(page.locator("#current-user")).to_have_count(0)
    page.goto(f"{live_server.url}/participants/")
    expect(page).to_have_url(re.compile(re.escape(LOGIN_PATH)))


def test_logout_ends_the_session(page, live_server, users, password):
    login(page, live_server, "coordinator", password)
    page.goto(f"{live_server.url}/participants/")
    expect(page.locator("#participant-table")).to_be_visible()

    with page.expect_navigation():
        page.click("#logout")
    expect(page).to_have_url(f"{live_server.url}{LOGIN_PATH}")
    expect(page.locator("#current-user")).to_have_count(0)

    page.goto(f"{live_server.url}/participants/")
    expect(page).to_have_url(f"{live_server.url}{LOGIN_PATH}?next=/participants/")
    expect(page.locator("#login-form")).to_be_visible()
