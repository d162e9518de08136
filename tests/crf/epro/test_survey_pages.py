"""The survey pages by personal link (issue 16, "The survey"): one instrument
per page with its progress, an unanswered item reported at the top and by
the item with the valid answers kept, answers saved as the respondent goes
and resumed on reopening, the scores on the follow-up form after
submission, "Stop these messages", and the language switch."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pghistory.models import Events

from crf.epro.invitations import epro_sweep
from crf.models import ContactPreference, FollowUp, PromResponse
from tests.crf.epro.survey_support import (
    ANSWERS,
    expected_scores,
    invited,
    page_post,
    participant_operated,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def link(users, site_a):
    """(participant, survey URL) of a participant invited today."""
    person = participant_operated(site_a, users["coordinator"], days_ago=10)
    return person, reverse("epro:survey", args=[invited(person)])


def test_pages_in_order_with_progress_errors_kept_answers_and_scores(client, link):
    person, url = link
    first = client.get(url)
    text = first.content.decode()
    assert re.search(r'id="survey-progress">\s*Page 1 of 3', text)
    # 30 TESS items, each with levels 1-5, "does not apply" and "prefer not".
    for n in (1, 30):
        for value in ("1", "5", "NA", "DEC"):
            assert f'name="tess_{n}" id="id_tess_{n}_{value}" value="{value}"' in text
    assert 'name="action" value="next"' in text
    # One item left blank: the page comes back with the summary and the item's
    # message; the valid answers are kept.
    blank = {k: v for k, v in ANSWERS["tess"].items() if k != "tess_7"}
    refused = page_post(client, url, "tess", blank)
    assert refused.status_code == 200
    text = refused.content.decode()
    summary = text[text.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert 'href="#div_id_tess_7"' in summary and "Item 7" in summary
    assert 'id="error_tess_7"' in text
    assert 'id="id_tess_1_4" value="4" checked' in text
    response = PromResponse.objects.get(participant=person)
    assert response.answers["tess_1"] == 4 and "tess_7" not in response.answers
    assert response.pages_done == []
    # Completed: on to the EQ-5D page, then the BPI page, then submitted.
    assert page_post(client, url, "tess", ANSWERS["tess"])["Location"].endswith(
        "?page=eq5d"
    )
    eq5d = client.get(url + "?page=eq5d").content.decode()
    assert re.search(r"Page 2 of 3", eq5d)
    assert re.search(r'<input type="number"[^>]* name="eq5d_vas"', eq5d)
    page_post(client, url, "eq5d", ANSWERS["eq5d"])
    bpi = client.get(url + "?page=bpi").content.decode()
    assert "Page 3 of 3" in bpi and 'name="action" value="submit"' in bpi
    assert 'id="id_bpi_worst_10" value="10"' in bpi
    assert 'id="id_bpi_worst_NA"' not in bpi
    thanks = page_post(client, url, "bpi", ANSWERS["bpi"], action="submit")
    assert re.search(r"<h1[^>]*>Thank you</h1>", thanks.content.decode())
    response.refresh_from_db()
    assert response.is_submitted and response.mode == "link"
    form = FollowUp.objects.get(participant=person, visit="2w")
    scores = expected_scores()
    assert float(form.tess_score) == scores["tess_score"]
    assert float(form.bpi_interference) == scores["bpi_interference"]
    assert form.eq5d_vas == 70 and form.eq5d_profile == scores["eq5d_profile"]
    assert form.missing_codes["tess_2"] == "NA"
    assert form.missing_codes["eq5d_pain_discomfort"] == "DEC"


def test_autosave_keeps_each_answer_and_reopening_resumes(client, link):
    person, url = link
    client.get(url)
    autosave = reverse("epro:survey_autosave", args=[url.split("/")[2]])
    saved = client.post(autosave, {"page": "tess", "tess_3": "2", "tess_4": "DEC"})
    assert saved.status_code == 200 and saved.json() == {"saved": True}
    # A bad value is ignored, never an error.
    assert client.post(autosave, {"page": "tess", "tess_5": "9"}).status_code == 200
    response = PromResponse.objects.get(participant=person)
    assert response.answers == {"tess_3": 2}
    assert response.missing_codes == {"tess_4": "DEC"}
    reopened = client.get(url).content.decode()
    assert 'id="id_tess_3_2" value="2" checked' in reopened
    assert 'id="id_tess_4_DEC" value="DEC" checked' in reopened
    # The VAS: its number, or "prefer not to answer" posted with it.
    page_post(client, url, "tess", ANSWERS["tess"])
    client.post(autosave, {"page": "eq5d", "eq5d_vas": ["", "DEC"]})
    response.refresh_from_db()
    assert response.missing_codes["eq5d_vas"] == "DEC"
    client.post(autosave, {"page": "eq5d", "eq5d_vas": "45"})
    # Reopening the link resumes at the first unfinished page.
    resumed = client.get(url).content.decode()
    assert "Page 2 of 3" in resumed and 'value="45"' in resumed
    # A later page cannot be skipped to.
    assert "Page 2 of 3" in client.get(url + "?page=bpi").content.decode()


def test_stop_these_messages_opts_out_and_no_reminder_follows(
    client, users, site_a, link
):
    person, url = link
    other = participant_operated(site_a, users["coordinator"], days_ago=10)
    epro_sweep()
    first = client.get(url).content.decode()
    stop = reverse("epro:survey_stop", args=[url.split("/")[2]])
    assert f'href="{stop}"' in first
    confirm = client.get(stop)
    assert "Yes, stop the messages" in confirm.content.decode()
    assert ContactPreference.objects.get(participant=person).opted_out_at is None
    done = client.post(stop)
    assert "You will receive no more messages" in done.content.decode()
    contact = ContactPreference.objects.get(participant=person)
    assert contact.opted_out_at is not None
    event = (
        Events.objects.tracks(contact)
        .filter(pgh_label="update")
        .order_by("-pgh_created_at")
        .first()
    )
    assert event.pgh_diff["opted_out_at"][0] is None
    assert event.pgh_context["username"] == "Participant (survey page)"
    # Three days later: the other participant is reminded, this one not.
    result = epro_sweep(now=timezone.now() + 3 * DAY)
    assert result.reminders == 1
    assert not person.survey_invitations.get().reminders.exists()
    assert other.survey_invitations.get().reminders.count() == 1
    # The link keeps working.
    assert 'id="survey-form"' in client.get(url).content.decode()


def test_language_switch_changes_the_responses_language(client, link):
    person, url = link
    assert '<html lang="en">' in client.get(url).content.decode()
    language = reverse("epro:survey_language", args=[url.split("/")[2]])
    switched = client.post(language, {"language": "fr", "page": "tess"})
    assert switched.status_code == 302
    assert PromResponse.objects.get(participant=person).language == "fr"
    assert '<html lang="fr">' in client.get(url).content.decode()
    client.post(language, {"language": "xx", "page": "tess"})
    assert PromResponse.objects.get(participant=person).language == "fr"
