"""Two-factor authentication (PROTOCOL §12; perform.mfa): who must use it, what
an unverified session may reach, and the demo's switch."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from perform import mfa

REQUIRED = ["investigator", "datamanager", "randomizer", "statistician", "dsmb"]
REQUIRED += ["admin", "owner"]


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True


def verify_session(client, device):
    """Mark the client's session as verified with ``device`` (what the
    log-in wizard does after a good code)."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.mark.django_db
@pytest.mark.parametrize("role", REQUIRED)
def test_the_roles_of_the_protocol_need_a_second_factor(users, required, role):
    assert mfa.otp_required(users[role])


@pytest.mark.django_db
def test_site_coordinators_may_but_need_not(client, users, required):
    assert not mfa.otp_required(users["coordinator"])
    client.force_login(users["coordinator"])
    assert client.get(reverse("participant_list")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["statistician", "dsmb", "owner", "datamanager"])
def test_without_an_authenticator_every_page_leads_to_the_set_up(
    client, users, required, role
):
    client.force_login(users[role])
    for url in ["/", "/reports/", "/participants/", "/roles/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("two_factor:setup"), url
    assert client.get(reverse("two_factor:setup")).status_code == 200
    response = client.get("/api/v1/sites/")
    assert response.status_code == 403
    assert response.json()["code"] == "otp_required"


@pytest.mark.django_db
def test_a_session_without_its_code_is_sent_back_to_log_in(client, users, required):
    TOTPDevice.objects.create(user=users["statistician"], name="default")
    client.force_login(users["statistician"])
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=%2Freports%2F"
    # Logged out on the way.
    assert client.get("/reports/")["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_verified_session_reaches_its_pages(client, users, required):
    device = TOTPDevice.objects.create(user=users["statistician"], name="default")
    client.force_login(users["statistician"])
    verify_session(client, device)
    assert client.get("/reports/").status_code == 200


@pytest.mark.django_db
def test_a_required_second_factor_cannot_be_turned_off(client, users, required):
    device = TOTPDevice.objects.create(user=users["datamanager"], name="default")
    client.force_login(users["datamanager"])
    verify_session(client, device)
    response = client.post(reverse("two_factor:disable"), {"understand": "on"})
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=users["datamanager"]).exists()
    page = client.get(reverse("two_factor:profile")).content.decode()
    assert "cannot be turned off" in page


@pytest.mark.django_db
def test_the_admin_login_form_is_not_a_way_around_the_second_factor(client, users):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"


@pytest.mark.django_db
def test_nobody_sees_or_copies_another_persons_authenticator_key(
    client, users, required, settings
):
    device = TOTPDevice.objects.create(user=users["coordinator"], name="default")
    owner = users["owner"]
    owner_device = TOTPDevice.objects.create(user=owner, name="default")
    client.force_login(owner)
    verify_session(client, owner_device)
    page = client.get(
        reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    ).content.decode()
    assert device.key not in page
    for suffix in ("config/", "qrcode/"):
        response = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{suffix}")
        assert response.status_code in {302, 404}
    # The owner resets it (the coordinator sets up a new one) ...
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]),
        {"post": "yes"},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    # ... but not its own, and nobody else may.
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[owner_device.pk]),
        {"post": "yes"},
    )
    assert response.status_code == 403
    settings.TWO_FACTOR_REQUIRED = False  # the data manager has no device
    client.force_login(users["datamanager"])
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("required_setting", [True, False])
def test_every_page_says_when_the_requirement_is_off(
    client, users, settings, required_setting
):
    settings.TWO_FACTOR_REQUIRED = required_setting
    client.force_login(users["coordinator"])
    for url in ["/participants/", "/account/security/", "/dashboard/"]:
        page = client.get(url).content.decode()
        assert ('id="two-factor-off"' in page) is not required_setting, url
    client.logout()
    page = client.get(reverse("login")).content.decode()
    assert ('id="two-factor-off"' in page) is not required_setting


@pytest.mark.django_db
def test_an_account_with_an_authenticator_cannot_add_a_second_one(
    client, users, required
):
    """Neither an unverified session (sent to log in again) nor a verified
    one (sent back to the security page) reaches the set-up wizard."""
    device = TOTPDevice.objects.create(user=users["statistician"], name="default")
    client.force_login(users["statistician"])
    response = client.get(reverse("two_factor:setup"))
    assert response["Location"].startswith(reverse("login"))
    client.force_login(users["statistician"])
    verify_session(client, device)
    response = client.post(
        reverse("two_factor:setup"), {"setup_view-current_step": "welcome"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("two_factor:profile")
    assert TOTPDevice.objects.filter(user=users["statistician"]).count() == 1


@pytest.mark.django_db
def test_resetting_a_lost_authenticator_ends_sessions_and_tokens(
    client, users, required
):
    from django.contrib.sessions.models import Session

    from perform.models import ApiToken
    from tests.factories import api_client_for

    coordinator = users["coordinator"]
    device = TOTPDevice.objects.create(user=coordinator, name="default")
    api_client_for(coordinator)
    other = Client()
    other.force_login(coordinator)
    assert Session.objects.count() == 1

    owner = users["owner"]
    owner_device = TOTPDevice.objects.create(user=owner, name="default")
    client.force_login(owner)
    verify_session(client, owner_device)
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]),
        {"post": "yes"},
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=coordinator).exists()
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(coordinator.pk) not in remaining and str(owner.pk) in remaining


@pytest.mark.django_db
def test_failed_log_ins_keep_no_password_in_the_lockout_records(client, users):
    from axes.models import AccessAttempt

    from tests.factories import login_post_data

    client.post(reverse("login"), login_post_data("coordinator", "Wrong-but-close-1"))
    attempt = AccessAttempt.objects.get()
    assert "Wrong-but-close-1" not in attempt.post_data
    assert "auth-password" in attempt.post_data


@pytest.mark.django_db
def test_the_requirement_costs_no_query_for_accounts_that_need_no_code(
    client, users, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users["coordinator"])
    counts = {}
    for required_setting in (False, True):
        settings.TWO_FACTOR_REQUIRED = required_setting
        client.get(reverse("participant_list"))  # warm caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("participant_list")).status_code == 200
        counts[required_setting] = len(queries)
    assert counts[True] == counts[False]
