"""What needs entry next (issue 15: "save and open the next form") and the
"awaiting randomization" queue: trial order, the third button, scope."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.forms.worklists import (
    participant_forms_needing_entry,
    participant_next_form,
)
from crf.models import AdverseEvent, Baseline, Discharge, FormStatus, Operative
from crf.schedule.visits import site_today
from perform import services as core
from perform.models import Participant, ParticipantStatus
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
TODAY = site_today("America/Toronto")


@pytest.fixture
def operated(users, site_a):
    """Randomized, operated on 40 days ago (2-week visit overdue, 6-week due),
    no baseline nor discharge yet, a draft adverse event."""
    actor = users["coordinator"]
    (participant,) = participants_add(site_a, 1, actor=actor)
    Operative.objects.create(
        **form_kwargs(participant, actor, surgery_date=TODAY - 40 * DAY)
    )
    AdverseEvent.objects.create(
        **form_kwargs(participant, actor, status=FormStatus.DRAFT, term="Fall")
    )
    return participant


def named(entry):
    return (entry.spec.key, entry.visit) if entry else None


@pytest.mark.django_db
def test_forms_needing_entry_come_in_trial_order(operated):
    assert [named(e) for e in participant_forms_needing_entry(operated)] == [
        ("baseline", None),
        ("discharge", None),
        ("follow-up", "2w"),
        ("follow-up", "6w"),
        ("adverse-event", None),
    ]


@pytest.mark.django_db
def test_the_next_form_is_the_first_needing_entry_after_the_current_one(
    users, operated
):
    walked, entry = [], participant_next_form(operated)
    while entry is not None:
        walked.append(named(entry))
        entry = participant_next_form(operated, after=entry.position)
    assert walked == [
        ("baseline", None),
        ("discharge", None),
        ("follow-up", "2w"),
        ("follow-up", "6w"),
        ("adverse-event", None),
    ]
    # A complete form is skipped; a draft still needs entry.
    Baseline.objects.create(**form_kwargs(operated, users["coordinator"]))
    Discharge.objects.create(
        **form_kwargs(operated, users["coordinator"], status=FormStatus.DRAFT)
    )
    assert named(participant_next_form(operated)) == ("discharge", None)


@pytest.mark.django_db
def test_forms_not_allowed_before_randomization_are_never_next(users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    assert participant.status == ParticipantStatus.ELIGIBLE
    assert [named(e) for e in participant_forms_needing_entry(participant)] == [
        ("baseline", None)
    ]


@pytest.mark.django_db
def test_save_and_open_next_saves_complete_and_opens_the_next_form(
    client, users, operated
):
    client.force_login(users["coordinator"])
    discharge = reverse("crf:single_edit", args=[operated.study_id, "discharge"])
    page = client.get(discharge)
    assert b'id="save-next"' in page.content
    response = client.post(
        discharge,
        {
            "discharge_date": (TODAY - 35 * DAY).isoformat(),
            "destination": "home",
            "save_next": "1",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse(
        "crf:visit_edit", args=[operated.study_id, "2w"]
    )
    assert Discharge.objects.get(participant=operated).status == FormStatus.COMPLETE


@pytest.mark.django_db
def test_save_and_open_next_after_the_last_form_returns_to_the_forms_page(
    client, users, operated
):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("crf:repeatable_new", args=[operated.study_id, "deviation"]),
        {
            "deviation_date": (TODAY - 5 * DAY).isoformat(),
            "category": "visit",
            "description": "Visit a day outside the window",
            "severity": "minor",
            "save_next": "1",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse(
        "crf:participant_forms", args=[operated.study_id]
    )
    assert f"No later form of {operated.study_id} needs entry." in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_save_and_open_next_with_a_missing_field_stays_on_the_form(
    client, users, operated
):
    client.force_login(users["coordinator"])
    discharge = reverse("crf:single_edit", args=[operated.study_id, "discharge"])
    response = client.post(discharge, {"destination": "home", "save_next": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["discharge_date"]
    assert not Discharge.objects.filter(participant=operated).exists()


# ------------------------------------------------------ awaiting randomization

QUEUE = reverse("crf:awaiting_randomization")


def consented(users, site, screen, *, days_ago: int, coordinator="coordinator"):
    today = site_today(site.time_zone)
    participant = screen(
        users[coordinator], site, screening_date=today - (days_ago + 2) * DAY
    )
    core.participant_consent_record(
        actor=users[coordinator],
        participant=participant,
        decision_date=today - days_ago * DAY,
        form_version="v1",
        obtained_by="Dr A",
    )
    return participant


@pytest.fixture
def waiting(users, site_a, site_b, screen):
    """At site A: consented 5 and 2 days ago (the later with a draft baseline
    saying "complete" fracture against "impending" at screening), one only
    eligible, one randomized; at site B: consented 9 days ago."""
    older = consented(users, site_a, screen, days_ago=5)
    newer = consented(users, site_a, screen, days_ago=2)
    Baseline.objects.create(
        **form_kwargs(
            newer,
            users["coordinator"],
            status=FormStatus.DRAFT,
            fracture_status="complete",
        )
    )
    screen(users["coordinator"], site_a)  # eligible, not consented
    randomized = consented(users, site_a, screen, days_ago=3)
    Participant.objects.filter(pk=randomized.pk).update(
        status=ParticipantStatus.RANDOMIZED
    )
    other_site = consented(
        users, site_b, screen, days_ago=9, coordinator="coordinator2"
    )
    return {"older": older, "newer": newer, "other_site": other_site}


def queue_rows(client):
    response = client.get(QUEUE)
    assert response.status_code == 200
    return response, {
        row.participant.study_id: row for row in response.context["queue"].rows
    }


@pytest.mark.django_db
def test_the_queue_lists_consented_participants_oldest_first_in_scope(
    client, users, waiting
):
    client.force_login(users["randomizer"])
    response, rows = queue_rows(client)
    assert list(rows) == [
        waiting["other_site"].study_id,
        waiting["older"].study_id,
        waiting["newer"].study_id,
    ]
    assert [row.days_waiting for row in rows.values()] == [9, 5, 2]
    page = response.content.decode()
    assert reverse("randomization:randomize", args=[waiting["older"].study_id]) in page

    client.force_login(users["coordinator"])
    response, rows = queue_rows(client)
    assert list(rows) == [waiting["older"].study_id, waiting["newer"].study_id]
    # Site staff do not randomize (by default): the participant's page instead.
    page = response.content.decode()
    assert (
        reverse("randomization:randomize", args=[waiting["older"].study_id]) not in page
    )
    assert "randomize-link" not in page

    client.force_login(users["coordinator2"])
    _response, rows = queue_rows(client)
    assert list(rows) == [waiting["other_site"].study_id]


@pytest.mark.django_db
def test_the_queue_shows_what_blocks_and_what_to_check(client, users, waiting):
    client.force_login(users["randomizer"])
    response, rows = queue_rows(client)
    older, newer = rows[waiting["older"].study_id], rows[waiting["newer"].study_id]
    assert older.blockers == [] and newer.blockers == []
    assert older.to_check == ["Baseline form not entered."]
    assert newer.to_check[0] == "Baseline form is a draft."
    assert newer.to_check[1].startswith(
        "Screening says impending; the baseline form (draft) says complete"
    )
    # No allocation list is active in this test.
    assert b'id="randomization-closed"' in response.content

    # A criterion answered "not met" after consent blocks randomization.
    answer = waiting["older"].eligibility_answers.filter(answer=True).first()
    answer.answer = False
    answer.save()
    _response, rows = queue_rows(client)
    (blocker,) = rows[waiting["older"].study_id].blockers
    assert blocker.startswith("Eligibility: ")


@pytest.mark.django_db
def test_the_queue_runs_a_fixed_number_of_queries(
    client, users, site_a, site_b, screen, waiting
):
    client.force_login(users["randomizer"])
    client.get(QUEUE)  # sessions, permissions: cached from here on
    with CaptureQueriesContext(connection) as few:
        _response, rows = queue_rows(client)
    assert len(rows) == 3
    for days_ago in (1, 4, 6):
        consented(users, site_a, screen, days_ago=days_ago)
    with CaptureQueriesContext(connection) as more:
        _response, rows = queue_rows(client)
    assert len(rows) == 6
    assert len(more) == len(few)
