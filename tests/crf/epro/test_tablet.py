"""The clinic tablet (issue 16, must-show 4): once a coordinator opens a
participant's questionnaires on the tablet, no other page of the platform is
reachable (staff pages, API, admin, log-out, even a survey link) until the
coordinator's password is given; a wrong password keeps the lock. Another
site's coordinator cannot open it."""

import pytest
from django.urls import reverse

from crf.models import FollowUp, PromResponse
from tests.crf.epro.survey_support import (
    ANSWERS,
    all_pages_post,
    invited,
    participant_operated,
)

pytestmark = pytest.mark.django_db

TABLET = "/tablet/"


@pytest.fixture
def person(users, site_a):
    return participant_operated(site_a, users["coordinator"], days_ago=10)


def start(client, person, visit="2w"):
    return client.post(
        reverse("epro:tablet_start", args=[person.study_id]),
        {"visit": visit, "respondent": "proxy"},
    )


def platform_urls(person, token):
    study = person.study_id
    return [
        "/",
        "/participants/",
        f"/participants/{study}/",
        f"/participants/{study}/forms/",
        f"/participants/{study}/forms/follow-up/2w/",
        "/dashboard/",
        "/queries/",
        "/api/v1/participants/",
        f"/api/v1/participants/{study}/",
        "/admin/",
        "/accounts/password_change/",
        "/account/security/",
        f"/survey/{token}/",
    ]


def assert_locked(client, person, token):
    for url in platform_urls(person, token):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 302, url
        assert response["Location"] == TABLET, url
    # Logging out is refused too: the session and its lock stay.
    logout = client.post("/accounts/logout/")
    assert logout.status_code == 302 and logout["Location"] == TABLET
    api = client.get("/api/v1/sites/", HTTP_ACCEPT="application/json")
    assert api.status_code == 302 and api["Location"] == TABLET


def test_tablet_locks_every_other_page_until_the_coordinators_password(
    client, users, person, password
):
    token = invited(person)
    client.force_login(users["coordinator"])
    page = client.get(f"/participants/{person.study_id}/").content.decode()
    assert 'id="epro-tablet-start"' in page
    assert start(client, person)["Location"] == TABLET
    response = PromResponse.objects.get(participant=person)
    assert response.mode == "tablet" and response.respondent == "proxy"
    assert response.entered_by == users["coordinator"]
    survey = client.get(TABLET)
    text = survey.content.decode()
    assert 'id="survey-form"' in text and "Page 1 of 3" in text
    assert person.study_id not in text and 'id="current-user"' not in text
    assert survey["Cache-Control"] == "no-store"
    assert_locked(client, person, token)
    # A wrong password: an error, and still locked.
    wrong = client.post("/tablet/exit/", {"password": "not-the-password"})
    assert wrong.status_code == 200
    assert "That password is not right" in wrong.content.decode()
    assert_locked(client, person, token)
    # The coordinator's password unlocks; the platform is reachable again.
    unlocked = client.post("/tablet/exit/", {"password": password})
    assert unlocked["Location"] == f"/participants/{person.study_id}/"
    for url in platform_urls(person, token)[1:6]:
        assert client.get(url).status_code == 200, url
    assert client.get(TABLET).status_code == 404


def test_tablet_submission_thanks_and_stays_locked(client, users, person, password):
    client.force_login(users["coordinator"])
    start(client, person)
    blank = {k: v for k, v in ANSWERS["tess"].items() if k != "tess_9"}
    refused = client.post(TABLET, {"page": "tess", "action": "next", **blank})
    assert 'id="error-summary"' in refused.content.decode()
    thanks = all_pages_post(client, TABLET)
    text = thanks.content.decode()
    assert "Thank you" in text and "Hand the tablet back to staff" in text
    response = PromResponse.objects.get(participant=person)
    assert response.is_submitted and response.mode == "tablet"
    assert FollowUp.objects.get(participant=person, visit="2w").tess_score is not None
    # Reloaded: the thank-you page again, never the form; still locked.
    again = client.get(TABLET).content.decode()
    assert "Hand the tablet back to staff" in again and 'id="survey-form"' not in again
    assert client.get("/participants/")["Location"] == TABLET
    client.post("/tablet/exit/", {"password": password})
    assert client.get("/participants/").status_code == 200


def test_too_many_wrong_passwords_lock_the_account_and_the_tablet_stays_locked(
    client, users, person, password, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    client.force_login(users["coordinator"])
    start(client, person)
    for _ in range(3):
        client.post("/tablet/exit/", {"password": "wrong"})
    refused = client.post("/tablet/exit/", {"password": password})
    assert "Too many wrong passwords" in refused.content.decode()
    assert client.get("/participants/")["Location"] == TABLET


def test_another_sites_coordinator_cannot_open_the_tablet(client, users, person):
    client.force_login(users["coordinator2"])
    assert start(client, person).status_code == 404
    assert not PromResponse.objects.exists()
    assert client.get("/participants/").status_code == 200
    # Roles without form entry are refused before the participant is looked up.
    client.force_login(users["datamanager"])
    assert start(client, person).status_code == 403


def test_tablet_is_not_opened_outside_the_window(client, users, site_a):
    early = participant_operated(site_a, users["coordinator"], days_ago=5)
    client.force_login(users["coordinator"])
    page = client.get(f"/participants/{early.study_id}/").content.decode()
    assert 'id="epro-tablet-start"' not in page
    refused = start(client, early)
    assert refused["Location"] == f"/participants/{early.study_id}/"
    assert not PromResponse.objects.exists()
    assert client.get("/participants/").status_code == 200
