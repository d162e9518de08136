"""The questionnaires section of the participant page (crf.epro.panel): each
visit's window, invitation, reminders and response, for the site's staff and
the Methods Centre alike, in a number of queries that does not grow with
them."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crf.epro.contacts import contact_preference_save
from crf.epro.invitations import epro_sweep
from crf.epro.items import PAGES
from crf.epro.responses import response_open, response_page_finish, response_submit
from crf.epro.windows import survey_visit_labels, survey_window, survey_windows
from crf.models import Operative, Respondent, ResponseMode, SurveyReminder
from tests import clock
from tests.crf.bulk import form_kwargs

DAY = datetime.timedelta(days=1)


@pytest.fixture
def invited(users, site_a, screen, randomize):
    """A participant operated 10 days ago (the 2-week questionnaires open),
    who agreed to e-mail: the sweep has sent the invitation."""
    today = clock.today()
    person = randomize(screen(users["coordinator"], site_a), on=today - 12 * DAY)
    Operative.objects.create(
        **form_kwargs(person, users["coordinator"], surgery_date=today - 10 * DAY)
    )
    contact_preference_save(
        actor=users["coordinator"],
        participant=person,
        electronic_contact=True,
        channel="email",
        email="jane.patient@example.org",
        language="en",
    )
    assert epro_sweep().invitations == 1
    return person


def remind(days: int) -> None:
    assert epro_sweep(now=timezone.now() + days * DAY).reminders == 1


def answer_and_submit(person) -> None:
    response = response_open(
        participant=person,
        visit="2w",
        mode=ResponseMode.LINK,
        language="en",
        respondent=Respondent.PROXY,
        invitation=person.survey_invitations.get(),
    )
    for page, names in PAGES.items():
        values = {name: "3" for name in names}
        if "eq5d_vas" in values:
            values["eq5d_vas"] = "60"
        assert response_page_finish(response, page, values) == {}
    response_submit(response)


def visit_row(content: str, visit: str) -> str:
    match = re.search(rf'<tr data-epro-visit="{visit}"[^>]*>(.*?)</tr>', content, re.S)
    assert match, f"no row for {visit}"
    return match.group(0)


def page_queries(client, person) -> tuple[int, str]:
    url = reverse("participant_detail", args=[person.study_id])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.django_db
def test_panel_shows_invitation_reminders_and_submitted_response(
    client, users, invited
):
    remind(3)
    remind(6)
    answer_and_submit(invited)
    assert SurveyReminder.objects.count() == 2
    for role in ("coordinator", "datamanager"):
        client.force_login(users[role])
        content = client.get(
            reverse("participant_detail", args=[invited.study_id])
        ).content.decode()
        assert 'id="epro-section"' in content
        row = visit_row(content, "2w")
        assert 'data-window="submitted"' in row
        invitation = invited.survey_invitations.get()
        assert invitation.invited_on.isoformat() in row
        assert "E-mail" in row
        assert 'data-message-status="pending"' in row  # no worker ran
        assert 'data-count="2"' in row
        for reminder in SurveyReminder.objects.all():
            assert f'data-reminder="{reminder.number}"' in row
            assert reminder.for_date.isoformat() in row
        assert 'data-response-status="submitted"' in row
        assert "Personal link" in row
        assert "A proxy (caregiver or relative)" in row
        assert "English" in row
        assert "submitted " in row
        # Every visit with questionnaires has its row, baseline first.
        visits = re.findall(r'<tr data-epro-visit="([^"]+)"', content)
        assert visits == list(survey_visit_labels())
        later = visit_row(content, "6w")
        assert 'data-window="not_yet"' in later
        assert 'data-count="0"' in later
        assert "jane.patient" not in content or role == "coordinator"


@pytest.mark.django_db
def test_panel_shows_an_open_window_before_any_answer(client, users, invited):
    client.force_login(users["coordinator"])
    row = visit_row(
        client.get(
            reverse("participant_detail", args=[invited.study_id])
        ).content.decode(),
        "2w",
    )
    assert 'data-window="open"' in row
    assert 'data-count="0"' in row
    assert "data-response-status" not in row


@pytest.mark.django_db
def test_panel_not_shown_before_consent(client, users, site_a, screen):
    person = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    content = client.get(
        reverse("participant_detail", args=[person.study_id])
    ).content.decode()
    assert 'id="epro-section"' not in content


@pytest.mark.django_db
def test_participant_page_queries_do_not_grow_with_reminders_and_responses(
    client, users, invited
):
    client.force_login(users["coordinator"])
    remind(3)
    few, _ = page_queries(client, invited)
    remind(6)
    answer_and_submit(invited)
    many, content = page_queries(client, invited)
    assert 'data-count="2"' in visit_row(content, "2w")
    # No more (the tablet's panel reads one query less once no window is open).
    assert many <= few


@pytest.mark.django_db
def test_survey_windows_agree_with_survey_window(invited):
    """The page's batch read is the same rule as one visit's."""
    answer_and_submit(invited)
    now = timezone.now()
    every = survey_windows(invited, now=now)
    assert list(every) == list(survey_visit_labels())
    for visit, window in every.items():
        assert window == survey_window(invited, visit, now=now)
    assert every["2w"].closed_reason == "submitted"
