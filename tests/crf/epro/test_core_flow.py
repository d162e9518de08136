"""The ePRO core end to end in the database: the sweep invites, the response
is answered page by page and submitted, the scores land on the follow-up form,
and the sweep sends nothing more."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from crf.epro.invitations import epro_sweep
from crf.epro.items import PAGES
from crf.epro.links import invitation_for_token, token_for
from crf.epro.responses import response_open, response_page_finish, response_submit
from crf.epro.windows import survey_window
from crf.models import (
    ContactPreference,
    FollowUp,
    Operative,
    PromResponse,
    ResponseMode,
    SurveyInvitation,
)
from infrastructure.models import OutboundEmail
from tests.crf.bulk import form_kwargs, participants_add

TORONTO = ZoneInfo("America/Toronto")
DAY = datetime.timedelta(days=1)


@pytest.mark.django_db
def test_invited_answered_submitted_scored_and_not_reminded(users, site_a):
    actor = users["coordinator"]
    (person,) = participants_add(site_a, 1, actor=actor)
    today = datetime.date(2026, 3, 10)
    Operative.objects.create(
        **form_kwargs(person, actor, surgery_date=today - 10 * DAY)
    )
    ContactPreference.objects.create(
        participant=person,
        electronic_contact=True,
        channel="email",
        email="patient@example.org",
        language="en",
        recorded_by=actor,
    )
    now = datetime.datetime(2026, 3, 10, 9, tzinfo=TORONTO)
    assert epro_sweep(now=now).invitations == 1
    assert epro_sweep(now=now).invitations == 0
    invitation = SurveyInvitation.objects.get()
    assert invitation.visit == "2w"
    email = OutboundEmail.objects.get(kind="epro_invitation")
    token = token_for(invitation.pk, invitation.nonce)
    assert token in email.body_text
    assert person.study_id not in email.body_text
    assert invitation_for_token(token) == invitation
    assert invitation_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert survey_window(person, "2w", now=now).is_open
    response = response_open(
        participant=person,
        visit="2w",
        mode=ResponseMode.LINK,
        language="en",
        invitation=invitation,
        now=now,
    )
    answers = {name: "3" for name in PAGES["tess"]}
    answers["tess_2"] = "NA"
    assert response_page_finish(response, "tess", answers) == {}
    errors = response_page_finish(response, "eq5d", {"eq5d_mobility": "2"})
    assert "eq5d_vas" in errors
    response_page_finish(
        response,
        "eq5d",
        {
            "eq5d_mobility": "2",
            "eq5d_self_care": "1",
            "eq5d_usual_activities": "3",
            "eq5d_pain_discomfort": "DEC",
            "eq5d_anxiety_depression": "1",
            "eq5d_vas": "70",
        },
    )
    response_page_finish(response, "bpi", {name: "4" for name in PAGES["bpi"]})
    response_submit(response, now=now)
    follow_up = FollowUp.objects.get(participant=person, visit="2w")
    assert float(follow_up.tess_score) == 50.0
    assert follow_up.eq5d_vas == 70
    assert follow_up.missing_codes["eq5d_pain_discomfort"] == "DEC"
    assert follow_up.missing_codes["tess_2"] == "NA"
    assert float(follow_up.bpi_interference) == 4.0
    assert PromResponse.objects.get().status == "submitted"
    later = now + 10 * DAY
    assert epro_sweep(now=later).reminders == 0
    assert not survey_window(person, "2w", now=later).is_open
