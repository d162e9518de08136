"""API tokens (PROTOCOL §12; perform.api_tokens): stored hashed, one per
client, expiring after idle and absolute lifetimes, and revoked on logout,
password change, lockout and deactivation."""

import datetime
import hashlib

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from perform.models import ApiToken

TOKEN_URL = "/api/v1/auth/token/"
SITES_URL = "/api/v1/sites/"
LOGOUT_URL = "/api/v1/auth/logout/"
LOGOUT_ALL_URL = "/api/v1/auth/logout-all/"


def obtain(username, password, *, client=None, otp_token=None, address="127.0.0.1"):
    body = {"username": username, "password": password}
    if client:
        body["client"] = client
    if otp_token is not None:
        body["otp_token"] = otp_token
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=address)


def token_for(username, password, **kwargs) -> str:
    response = obtain(username, password, **kwargs)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def call(token, url=SITES_URL, method="get"):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return getattr(api, method)(url)


@pytest.mark.django_db
def test_a_token_is_stored_only_as_its_digest(users, password):
    token = token_for("coordinator", password)
    assert len(token) == 64
    row = ApiToken.objects.get(user=users["coordinator"])
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    # Nothing in the table holds the token itself (only knox's short lookup
    # prefix of it).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert token not in stored
    assert len(row.token_key) < len(token) // 2
    assert call(token).status_code == 200


@pytest.mark.django_db
def test_each_client_has_its_own_token_and_asking_again_replaces_it(users, password):
    laptop = token_for("coordinator", password, client="redcap-sync")
    script = token_for("coordinator", password, client="nightly-export")
    assert laptop != script
    assert call(laptop).status_code == 200 and call(script).status_code == 200

    again = token_for("coordinator", password, client="redcap-sync")
    assert again != laptop
    assert call(laptop).status_code == 401
    assert call(again).status_code == 200 and call(script).status_code == 200
    assert sorted(
        ApiToken.objects.filter(user=users["coordinator"]).values_list(
            "client", flat=True
        )
    ) == ["nightly-export", "redcap-sync"]


@pytest.mark.django_db
def test_too_many_clients_are_refused(users, password, settings):
    settings.API_TOKENS_PER_USER = 2
    token_for("coordinator", password, client="a")
    token_for("coordinator", password, client="b")
    response = obtain("coordinator", password, client="c")
    assert response.status_code == 400
    assert "client" in response.json()
    assert ApiToken.objects.filter(user=users["coordinator"]).count() == 2


@pytest.mark.django_db
def test_a_token_expires_when_idle_and_at_its_absolute_lifetime(users, password):
    idle = settings.REST_KNOX["TOKEN_TTL"]
    absolute = settings.REST_KNOX["AUTO_REFRESH_MAX_TTL"]
    assert idle < absolute
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        token = token_for("coordinator", password)
        # Used a little before each idle expiry: it lives on...
        step = idle - datetime.timedelta(minutes=5)
        used = datetime.timedelta(0)
        while used + step < absolute:
            clock.shift(step)
            used += step
            assert call(token).status_code == 200, used
        # ... but never past its absolute lifetime, however busy.
        clock.move_to(start + absolute + datetime.timedelta(seconds=1))
        assert call(token).status_code == 401

        other = token_for("coordinator", password, client="idle")
        clock.shift(idle + datetime.timedelta(seconds=1))
        assert call(other).status_code == 401
    assert not ApiToken.objects.filter(user=users["coordinator"]).exists()


@pytest.mark.django_db
def test_logout_revokes_the_token_it_is_called_with_and_logout_all_every_one(
    users, password
):
    first = token_for("coordinator", password, client="one")
    second = token_for("coordinator", password, client="two")
    response = call(first, LOGOUT_URL, "post")
    assert response.status_code == 204
    assert call(first).status_code == 401
    assert call(second).status_code == 200

    third = token_for("coordinator", password, client="three")
    assert call(second, LOGOUT_ALL_URL, "post").status_code == 204
    assert call(second).status_code == 401 and call(third).status_code == 401
    assert call(third, LOGOUT_URL, "post").status_code == 401


@pytest.mark.django_db
def test_a_password_change_revokes_every_token(client, users, password):
    token = token_for("coordinator", password)
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "A-new-passphrase-2026",
            "new_password2": "A-new-passphrase-2026",
        },
    )
    assert response.status_code == 302
    assert call(token).status_code == 401
    assert not ApiToken.objects.filter(user=users["coordinator"]).exists()

    # Whatever path sets it (the admin, a shell, a reset link).
    token = token_for("coordinator", "A-new-passphrase-2026")
    user = users["coordinator"]
    user.set_password("Yet-another-one-2026")
    user.save()
    assert call(token).status_code == 401


@pytest.mark.django_db
def test_saving_the_account_without_a_new_password_keeps_the_tokens(users, password):
    token = token_for("coordinator", password)
    user = users["coordinator"]
    user.first_name = "Priya"
    user.save()
    user.receives_visit_reminders = False
    user.save(update_fields=["receives_visit_reminders"])
    assert call(token).status_code == 200


@pytest.mark.django_db
def test_deactivation_revokes_every_token(users, password):
    token = token_for("coordinator", password)
    user = users["coordinator"]
    user.is_active = False
    user.save()
    assert call(token).status_code == 401
    user.is_active = True
    user.save()
    assert call(token).status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_lockout_revokes_every_token(users, password):
    token = token_for("coordinator", password)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = obtain("coordinator", f"wrong-{attempt}", address="10.9.9.9")
    assert response.status_code == 429
    assert call(token).status_code == 401
    # From an address that is not locked, the right password gets a new one.
    assert call(token_for("coordinator", password)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Token " + "0" * 40,
        "Token " + "g" * 64,
        "Token ",
        "Token a b",
    ],
)
def test_a_malformed_token_is_a_401_not_a_server_error(users, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(SITES_URL)
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.django_db
def test_a_nul_byte_in_the_token_is_refused_before_any_query(users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "a" * 63 + "\x00")
    response = api.get(SITES_URL)
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"


@pytest.mark.django_db
def test_a_non_utf8_token_is_a_401(users):
    response = APIClient().get(
        SITES_URL, HTTP_AUTHORIZATION="Token \xff\xfe" + "a" * 62
    )
    assert response.status_code == 401


# -----------------------------------------------------------------------------
# Two-factor accounts give their code with the password
# -----------------------------------------------------------------------------
def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def current_code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


@pytest.mark.django_db
def test_an_account_with_two_factor_must_send_its_code(users, password, settings):
    settings.TWO_FACTOR_REQUIRED = True
    device = confirmed_device(users["datamanager"])
    response = obtain("datamanager", password)
    assert response.status_code == 400
    assert "otp_token" in response.json()
    response = obtain("datamanager", password, otp_token="000000")
    assert response.status_code == 400
    # django-otp also slows down guessing (1 s, 2 s, 4 s, ... after failures).
    device.refresh_from_db()
    device.throttle_reset()
    token = token_for("datamanager", password, otp_token=current_code(device))
    assert call(token).status_code == 200


@pytest.mark.django_db
def test_a_role_that_needs_two_factor_gets_no_token_before_setting_it_up(
    users, password, settings
):
    settings.TWO_FACTOR_REQUIRED = True
    response = obtain("statistician", password)
    assert response.status_code == 400
    assert "set it up" in response.json()["otp_token"][0]
    # A site coordinator (not required) still logs in with a password.
    assert call(token_for("coordinator", password)).status_code == 200


@pytest.mark.django_db
def test_wrong_codes_count_toward_the_lockout(users, password, settings):
    settings.TWO_FACTOR_REQUIRED = True
    device = confirmed_device(users["datamanager"])
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = obtain("datamanager", password, otp_token="123456")
        assert response.status_code == 400
    response = obtain("datamanager", password, otp_token="123456")
    assert response.status_code == 429
    # Locked: even the right password and code are refused now.
    device.refresh_from_db()
    device.throttle_reset()
    response = obtain("datamanager", password, otp_token=current_code(device))
    assert response.status_code == 429
    assert not ApiToken.objects.exists()
