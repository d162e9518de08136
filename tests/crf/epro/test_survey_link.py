"""Link security (issue 16, must-show 3): a tampered, unknown, expired or
not-yet-open link opens no form; a token reaches its own participant's and
visit's response only; a link replayed after submission shows "already
answered" and changes nothing; wrong guesses are rate limited per address;
neither the link nor the e-mail carries personal data."""

import base64
import random
import re

import pytest
from django.urls import reverse

from crf.epro.items import PAGES
from crf.epro.links import token_for
from crf.models import FollowUp, PromResponse, SurveyInvitation
from infrastructure.models import OutboundEmail
from tests.crf.epro.survey_support import (
    ANSWERS,
    all_pages_post,
    invited,
    page_post,
    participant_operated,
)

pytestmark = pytest.mark.django_db

FORM = 'id="survey-form"'


def url(token):
    return reverse("epro:survey", args=[token])


def address():
    """A client address of its own, so the rate limit's counters of one test
    never meet another's."""
    parts = (random.randrange(256), random.randrange(256), random.randrange(1, 255))  # noqa: S311
    return "10.{}.{}.{}".format(*parts)


@pytest.fixture
def coordinator(users):
    return users["coordinator"]


def assert_patient_headers(response):
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def assert_nothing_personal(text, person, site):
    # (The site's three-letter code is left out: a random token or CSRF
    # value may contain it by chance.)
    for secret in (person.study_id, site.name, "pat@example.org", "Toronto"):
        assert secret not in text, secret


def test_tampered_unknown_and_malformed_tokens_answer_a_plain_404(
    client, coordinator, site_a
):
    person = participant_operated(site_a, coordinator, days_ago=10)
    token = invited(person)
    assert client.get(url(token), REMOTE_ADDR=address()).status_code == 200
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = base64.urlsafe_b64encode(random.randbytes(32)).rstrip(b"=").decode()
    ip = address()
    for wrong in (tampered, unknown, "abc", token + "x"):
        response = client.get(url(wrong), REMOTE_ADDR=ip)
        assert response.status_code == 404, wrong
        text = response.content.decode()
        assert "This link is not valid" in text
        assert FORM not in text
        assert_nothing_personal(text, person, site_a)
        assert_patient_headers(response)
    # Nothing was opened or written by the wrong links.
    response = PromResponse.objects.get(participant=person)
    assert response.answers == {}


def test_link_before_the_window_opens_shows_not_yet_and_writes_nothing(
    client, coordinator, site_a
):
    person = participant_operated(site_a, coordinator, days_ago=5)
    # Invited by a sweep run 5 days ahead, opened today: day 5 < day 10.
    token = invited(person, days_from_now=5)
    ip = address()
    response = client.get(url(token), REMOTE_ADDR=ip)
    assert response.status_code == 200
    text = response.content.decode()
    assert "These questionnaires are not open yet." in text
    assert FORM not in text
    assert_patient_headers(response)
    page_post(client, url(token), "tess", ANSWERS["tess"], REMOTE_ADDR=ip)
    assert not PromResponse.objects.filter(participant=person).exists()


def test_expired_link_after_the_window_closed_opens_nothing(
    client, coordinator, site_a
):
    person = participant_operated(site_a, coordinator, days_ago=30)
    # Invited on day 15 (inside the 2-week window, days 10-21), opened on day 30.
    token = invited(person, days_from_now=-15)
    ip = address()
    response = client.get(url(token), REMOTE_ADDR=ip)
    assert response.status_code == 200
    assert "The time to answer these questionnaires has passed." in (
        response.content.decode()
    )
    assert FORM not in response.content.decode()
    page_post(client, url(token), "tess", ANSWERS["tess"], REMOTE_ADDR=ip)
    autosave = client.post(
        reverse("epro:survey_autosave", args=[token]),
        {"page": "tess", "tess_1": "3"},
        REMOTE_ADDR=ip,
    )
    assert autosave.status_code == 409
    assert not PromResponse.objects.filter(participant=person).exists()


def test_a_token_reaches_its_own_participants_response_only(
    client, coordinator, site_a
):
    first = participant_operated(site_a, coordinator, days_ago=10)
    second = participant_operated(site_a, coordinator, days_ago=10, email="b@x.org")
    first_token = invited(first)
    second_token = token_for(
        *SurveyInvitation.objects.filter(participant=second)
        .values_list("pk", "nonce")
        .get()
    )
    ip = address()
    client.get(url(second_token), REMOTE_ADDR=ip)
    page_post(client, url(first_token), "tess", ANSWERS["tess"], REMOTE_ADDR=ip)
    client.post(
        reverse("epro:survey_autosave", args=[first_token]),
        {"page": "eq5d", "eq5d_vas": "55"},
        REMOTE_ADDR=ip,
    )
    mine = PromResponse.objects.get(participant=first)
    theirs = PromResponse.objects.get(participant=second)
    assert mine.pages_done == ["tess"] and mine.answers["eq5d_vas"] == 55
    assert theirs.answers == {} and theirs.pages_done == []
    # The second participant's page shows none of the first one's answers.
    page = client.get(url(second_token), REMOTE_ADDR=ip).content.decode()
    assert "checked" not in page


def test_another_visits_token_does_not_open_this_visit(client, coordinator, site_a):
    person = participant_operated(site_a, coordinator, days_ago=40)
    two_weeks = invited(person, "2w", days_from_now=-25)  # day 15
    six_weeks = invited(person, "6w")  # day 40: the 6-week window is open
    ip = address()
    assert FORM in client.get(url(six_weeks), REMOTE_ADDR=ip).content.decode()
    response = client.get(url(two_weeks), REMOTE_ADDR=ip)
    assert "The time to answer these questionnaires has passed." in (
        response.content.decode()
    )
    page_post(client, url(two_weeks), "tess", ANSWERS["tess"], REMOTE_ADDR=ip)
    six = PromResponse.objects.get(participant=person)
    assert six.visit == "6w" and six.answers == {}
    assert not PromResponse.objects.filter(participant=person, visit="2w").exists()


def test_replay_after_submit_shows_already_answered_and_changes_nothing(
    client, coordinator, site_a
):
    person = participant_operated(site_a, coordinator, days_ago=10)
    token = invited(person)
    ip = address()
    client.get(url(token), REMOTE_ADDR=ip)
    thanks = all_pages_post(client, url(token), REMOTE_ADDR=ip)
    assert "<h1" in thanks.content.decode() and "Thank you" in thanks.content.decode()
    submitted = PromResponse.objects.get(participant=person)
    form = FollowUp.objects.get(participant=person, visit="2w")
    assert submitted.is_submitted
    replay = client.get(url(token), REMOTE_ADDR=ip)
    text = replay.content.decode()
    assert "Already answered" in text
    assert "These questionnaires have been answered." in text
    assert FORM not in text
    changed = {name: "1" for name in PAGES["tess"]}
    page_post(client, url(token), "tess", changed, REMOTE_ADDR=ip)
    client.post(
        reverse("epro:survey_autosave", args=[token]),
        {"page": "tess", **changed},
        REMOTE_ADDR=ip,
    )
    client.post(
        reverse("epro:survey_language", args=[token]),
        {"language": "fr"},
        REMOTE_ADDR=ip,
    )
    after = PromResponse.objects.get(pk=submitted.pk)
    assert after.answers == submitted.answers
    assert after.language == "en"
    assert after.last_saved_at == submitted.last_saved_at
    assert FollowUp.objects.get(pk=form.pk).version == form.version


def test_wrong_guesses_are_rate_limited_per_address(
    client, coordinator, site_a, settings
):
    settings.EPRO = {**settings.EPRO, "LINK_GUESSES": "3/h"}
    person = participant_operated(site_a, coordinator, days_ago=10)
    token = invited(person)
    guesser, patient = address(), address()
    for n in range(3):
        wrong = base64.urlsafe_b64encode(random.randbytes(32)).rstrip(b"=").decode()
        assert client.get(url(wrong), REMOTE_ADDR=guesser).status_code == 404, n
    # The valid link still opens after three wrong guesses ...
    assert client.get(url(token), REMOTE_ADDR=guesser).status_code == 200
    # ... the fourth wrong one is refused, and the address is blocked for
    # every link page, the valid one included (documented in crf.epro.views).
    blocked = client.get(url("x" * 43), REMOTE_ADDR=guesser)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()
    assert_patient_headers(blocked)
    assert client.get(url(token), REMOTE_ADDR=guesser).status_code == 429
    stop = reverse("epro:survey_stop", args=[token])
    assert client.get(stop, REMOTE_ADDR=guesser).status_code == 429
    # Another address is not affected.
    assert client.get(url(token), REMOTE_ADDR=patient).status_code == 200


def test_link_and_invitation_email_carry_no_personal_data(client, coordinator, site_a):
    person = participant_operated(site_a, coordinator, days_ago=10)
    token = invited(person)
    # 256 bits in URL-safe base64: nothing but the random-looking token.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert url(token) == f"/survey/{token}/"
    assert person.study_id not in token
    email = OutboundEmail.objects.get(kind="epro_invitation")
    assert url(token) in email.body_text
    assert_nothing_personal(email.subject + email.body_text, person, site_a)
    page = client.get(url(token), REMOTE_ADDR=address())
    assert_nothing_personal(page.content.decode(), person, site_a)
    assert_patient_headers(page)
