"""Deployment settings, security headers, sessions, lockout, password rules."""

import secrets
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.factories import login_post_data
from tests.production import manage


def test_check_deploy_is_clean_under_production_settings(collected_static):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="perform.example.org",
        STATIC_ROOT=str(collected_static),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "SECRET_KEY must be set"),
        ("short", "SECRET_KEY is too weak"),
        ("django-insecure-" + "x" * 60, "SECRET_KEY is too weak"),
    ],
)
def test_server_refuses_to_start_without_a_real_secret_key(key, message):
    env = {"DEBUG": "false"}
    if key is not None:
        env["SECRET_KEY"] = key
    result = manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_pages_carry_security_headers(client, users):
    client.force_login(users["coordinator"])
    response = client.get(reverse("participant_list"))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login_for_any_page(client, users):
    response = client.get(reverse("participant_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_session_expires_after_thirty_idle_minutes_and_activity_renews_it(
    client, users, password
):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    login = client.post(reverse("login"), login_post_data("coordinator", password))
    assert login.status_code == 302
    session = Session.objects.get()
    remaining = session.expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)

    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(reverse("participant_list")).status_code == 200
    renewed = Session.objects.get().expire_date - timezone.now()
    assert renewed > timedelta(minutes=29), "activity must push the expiry back"

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("participant_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account(client, users, password):
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, login_post_data("coordinator", "wrong"))
        assert response.status_code == 200
        assert (
            "Please enter a correct username and password" in response.content.decode()
        )
    locked = client.post(url, login_post_data("coordinator", "wrong"))
    assert locked.status_code == 429
    assert b"Too many failed log-in attempts" in locked.content
    # Even the right password is refused while locked.
    again = client.post(url, login_post_data("coordinator", password))
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    other = client.post(url, login_post_data("investigator", password))
    assert other.status_code == 302


@pytest.mark.django_db
def test_password_change_applies_the_password_validators(client, users, password):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "12345678",
            "new_password2": "12345678",
        },
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["new_password2"])
    assert "too short" in errors
    assert "too common" in errors
    assert "entirely numeric" in errors
