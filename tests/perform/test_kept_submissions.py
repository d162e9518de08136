"""Issue 15: a form posted after the idle session expired is kept and given
back, bound but not saved, to the same user only (``perform.kept_submissions``)."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crf.models import Baseline, FormStatus
from perform import kept_submissions, roles
from perform.models import PendingSubmission
from tests.clock import today
from tests.factories import login_post_data, user_with_role

pytestmark = pytest.mark.django_db

TYPED = {
    "assessment_date": (today() - datetime.timedelta(days=2)).isoformat(),
    "primary_cancer": "breast",
    "haemoglobin_g_l": "117",
    "expected_survival_months": "9",
    "save_draft": "1",
}
CSRF_SECRET = "a" * 32


@pytest.fixture
def baseline_url(users, site_a, screen):
    participant = screen(
        users["coordinator"],
        site_a,
        screening_date=today() - datetime.timedelta(days=5),
    )
    return reverse("crf:single_edit", args=[participant.study_id, "baseline"])


def expire_session(client) -> None:
    """The client's session row outlives its expiry, as after 30 min idle."""
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )


def post_after_expiry(client, user, url, data=TYPED):
    client.force_login(user)
    expire_session(client)
    return client.post(url, data)


def login_url(next_url: str) -> str:
    return f"{reverse('login')}?next={next_url}"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_post_after_expiry_is_kept_and_sends_to_login_with_a_message(
    client, users, baseline_url
):
    response = post_after_expiry(client, users["coordinator"], baseline_url)
    assert response.status_code == 302
    assert response["Location"] == login_url(baseline_url)
    assert messages_of(response) == [kept_submissions.KEPT_MESSAGE]
    kept = PendingSubmission.objects.get()
    assert (kept.username, kept.path) == ("coordinator", baseline_url)
    assert kept.data["haemoglobin_g_l"] == ["117"]
    assert "csrfmiddlewaretoken" not in kept.data
    assert client.session[kept_submissions.SESSION_KEY] == kept.token
    assert not Baseline.objects.exists()


def test_the_same_user_gets_the_values_back_bound_not_saved_then_saves(
    client, users, baseline_url
):
    post_after_expiry(client, users["coordinator"], baseline_url)
    client.force_login(users["coordinator"])
    response = client.get(baseline_url)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.is_bound and form.data["haemoglobin_g_l"] == "117"
    assert 'value="117"' in response.content.decode()
    assert kept_submissions.RESTORED_MESSAGE in messages_of(response)
    assert not Baseline.objects.exists()
    assert not PendingSubmission.objects.exists()
    # Once only: the next visit shows an empty form.
    assert not client.get(baseline_url).context["form"].is_bound
    response = client.post(baseline_url, TYPED)
    assert response.status_code == 302, response.context["form"].errors
    baseline = Baseline.objects.get()
    assert (baseline.status, baseline.haemoglobin_g_l) == (FormStatus.DRAFT, 117)


def test_another_user_never_sees_the_kept_values(client, users, site_a, baseline_url):
    colleague = user_with_role(
        roles.SITE_COORDINATOR, username="colleague", sites=[site_a]
    )
    post_after_expiry(client, users["coordinator"], baseline_url)
    client.force_login(colleague)
    response = client.get(baseline_url)
    assert response.status_code == 200
    assert not response.context["form"].is_bound
    assert "117" not in response.content.decode()
    assert kept_submissions.RESTORED_MESSAGE not in messages_of(response)
    # Deleted: the owner cannot reach it through this browser session any more.
    assert not PendingSubmission.objects.exists()
    assert kept_submissions.SESSION_KEY not in client.session


def test_another_user_signing_in_discards_it_whatever_page_they_open(
    client, users, baseline_url
):
    post_after_expiry(client, users["coordinator"], baseline_url)
    client.force_login(users["datamanager"])
    assert client.get(reverse("participant_list")).status_code == 200
    assert not PendingSubmission.objects.exists()


def test_kept_values_past_their_age_are_not_restored(
    client, users, baseline_url, settings
):
    post_after_expiry(client, users["coordinator"], baseline_url)
    PendingSubmission.objects.update(
        created_at=timezone.now()
        - datetime.timedelta(hours=settings.PENDING_SUBMISSION_HOURS, minutes=1)
    )
    client.force_login(users["coordinator"])
    response = client.get(baseline_url)
    assert not response.context["form"].is_bound
    assert not PendingSubmission.objects.exists()


def test_old_kept_values_are_purged_when_another_is_kept(
    client, users, baseline_url, settings
):
    PendingSubmission.objects.create(
        token="old",
        path=baseline_url,
        data={"a": ["1"]},
        username="coordinator",
        created_at=timezone.now()
        - datetime.timedelta(hours=settings.PENDING_SUBMISSION_HOURS + 1),
    )
    post_after_expiry(client, users["coordinator"], baseline_url)
    assert PendingSubmission.objects.exclude(token="old").count() == 1
    assert not PendingSubmission.objects.filter(token="old").exists()


def test_a_post_after_expiry_without_a_csrf_token_is_refused_and_not_kept(
    users, baseline_url
):
    client = Client(enforce_csrf_checks=True)
    response = post_after_expiry(client, users["coordinator"], baseline_url)
    assert response.status_code == 403
    assert not PendingSubmission.objects.exists()


def test_csrf_is_still_enforced_when_kept_and_when_saving_the_restored_form(
    users, baseline_url
):
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF_SECRET
    with_token = {**TYPED, "csrfmiddlewaretoken": CSRF_SECRET}
    response = post_after_expiry(client, users["coordinator"], baseline_url, with_token)
    assert response.status_code == 302
    assert PendingSubmission.objects.count() == 1
    client.force_login(users["coordinator"])
    assert client.get(baseline_url).context["form"].is_bound
    # The restored form is saved like any other: without the token, refused.
    assert client.post(baseline_url, TYPED).status_code == 403
    assert not Baseline.objects.exists()
    client.cookies["csrftoken"] = CSRF_SECRET
    assert client.post(baseline_url, with_token).status_code == 302
    assert Baseline.objects.count() == 1


def test_nothing_is_kept_for_pages_open_to_anonymous_users(client, users):
    client.force_login(users["coordinator"])
    expire_session(client)
    response = client.post(
        reverse("password_reset"), {"email": "coordinator@example.org"}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("login"),
        {"login_view-current_step": "auth", "auth-username": "x"},
    )
    assert response.status_code == 200
    assert not PendingSubmission.objects.exists()


def test_nothing_is_kept_without_a_session_or_an_owner(client, users, baseline_url):
    response = client.post(baseline_url, TYPED)  # never signed in
    assert response["Location"] == login_url(baseline_url)
    client.force_login(users["coordinator"])
    Session.objects.filter(session_key=client.session.session_key).delete()
    response = client.post(baseline_url, TYPED)  # expired and cleared
    assert response["Location"] == login_url(baseline_url)
    assert kept_submissions.KEPT_MESSAGE not in messages_of(response)
    assert not PendingSubmission.objects.exists()


def test_api_posts_are_not_kept(client, users):
    client.force_login(users["coordinator"])
    expire_session(client)
    client.post("/api/v1/participants/", {"a": "1"})
    assert not PendingSubmission.objects.exists()


def test_stay_signed_in_renews_the_session(client, users, settings):
    settings.SESSION_COOKIE_AGE = 300
    client.force_login(users["coordinator"])
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + datetime.timedelta(seconds=10)
    )
    url = reverse("session_keep_alive")
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.json() == {"expires_in": 300}
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + datetime.timedelta(seconds=290)


def test_pages_render_the_seconds_left_and_the_warning(
    client, users, settings, baseline_url
):
    settings.SESSION_COOKIE_AGE = 600
    settings.SESSION_WARNING_SECONDS = 90
    client.force_login(users["coordinator"])
    page = client.get(baseline_url).content.decode()
    assert 'data-seconds="600"' in page and 'data-warn-seconds="90"' in page
    assert "js/session_expiry.js" in page
    client.logout()
    assert "session-expiry" not in client.get(reverse("login")).content.decode()


def test_signing_in_through_the_login_page_restores_them(
    client, users, password, baseline_url
):
    response = post_after_expiry(client, users["coordinator"], baseline_url)
    response = client.post(
        response["Location"],
        {**login_post_data("coordinator", password), "next": baseline_url},
    )
    assert response["Location"] == baseline_url
    assert client.get(baseline_url).context["form"].data["haemoglobin_g_l"] == "117"


def test_screening_entries_are_kept_and_restored(client, users, site_a):
    url = reverse("participant_screen")
    typed = {"site": str(site_a.pk), "age_at_screening": "71", "sex": "female"}
    response = post_after_expiry(client, users["coordinator"], url, typed)
    assert messages_of(response) == [kept_submissions.KEPT_MESSAGE]
    client.force_login(users["coordinator"])
    form = client.get(url).context["form"]
    assert form.is_bound and form.data["age_at_screening"] == "71"


def test_a_page_that_cannot_restore_says_its_entries_were_not_kept(client, users):
    url = reverse("notification_settings")
    response = post_after_expiry(client, users["coordinator"], url, {"a": "1"})
    assert response["Location"] == login_url(url)
    assert messages_of(response) == [kept_submissions.NOT_KEPT_MESSAGE]
    assert not PendingSubmission.objects.exists()
