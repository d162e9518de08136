"""The one reading of the visit schedule's inputs (``crf.schedule.inputs``):
what counts, the end of follow-up and its reason, and reading as of a cut-off.
(``test_one_answer.py`` holds every reader to it; ``test_sql.py`` the SQL.)"""

import datetime

import pytest

from crf.models import Death, FollowUp, FormStatus, Operative, Withdrawal
from crf.schedule.inputs import schedule_inputs_for
from crf.schedule.visits import DONE, NOT_EXPECTED, OVERDUE
from perform.models import Participant, ParticipantStatus
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
SURGERY = datetime.date(2026, 1, 5)


def inputs_of(participant, **kwargs):
    scope = Participant.objects.filter(pk=participant.pk)
    return schedule_inputs_for(scope, **kwargs)[participant.pk]


@pytest.fixture
def operated(users, site_a):
    actor = users["coordinator"]
    (participant,) = participants_add(site_a, 1, actor=actor)
    Operative.objects.create(
        **form_kwargs(participant, actor, FormStatus.DRAFT, surgery_date=SURGERY)
    )
    FollowUp.objects.create(
        **form_kwargs(participant, actor, visit="2w", visit_date=SURGERY + 14 * DAY)
    )
    return participant


def add(model, participant, status=FormStatus.COMPLETE, **fields):
    actor = participant.created_by
    return model.objects.create(**form_kwargs(participant, actor, status, **fields))


@pytest.mark.django_db
def test_a_drafted_surgery_date_starts_the_schedule_a_draft_death_ends_nothing(
    operated,
):
    add(Death, operated, FormStatus.DRAFT, death_date=SURGERY + 20 * DAY)
    add(Withdrawal, operated, FormStatus.DRAFT, withdrawal_date=SURGERY + 20 * DAY)
    inputs = inputs_of(operated, as_of=SURGERY + 60 * DAY)
    assert inputs.surgery_date == SURGERY
    assert (inputs.ended_on, inputs.end_reason) == (None, "")
    assert [v.state for v in inputs.schedule()[:2]] == [DONE, OVERDUE]


@pytest.mark.django_db
def test_the_earlier_of_death_and_withdrawal_ends_follow_up_with_its_reason(
    operated,
):
    add(Death, operated, FormStatus.SIGNED, death_date=SURGERY + 50 * DAY)
    add(
        Withdrawal,
        operated,
        kind=Withdrawal.Kind.LOST,
        withdrawal_date=SURGERY + 40 * DAY,
    )
    inputs = inputs_of(operated)
    assert inputs.ended_on == SURGERY + 40 * DAY
    assert inputs.end_reason == ParticipantStatus.LOST_TO_FOLLOW_UP
    assert [v.state for v in inputs.schedule()[:2]] == [DONE, NOT_EXPECTED]


@pytest.mark.django_db
def test_as_of_a_cutoff_forms_dated_after_it_are_left_out(operated):
    add(Death, operated, death_date=SURGERY + 50 * DAY)
    before = inputs_of(operated, as_of=SURGERY + 13 * DAY)
    assert before.today == SURGERY + 13 * DAY
    assert (dict(before.done), before.death_date) == ({}, None)
    after = inputs_of(operated, as_of=SURGERY + 50 * DAY)
    assert dict(after.done) == {"2w": SURGERY + 14 * DAY}
    assert (after.ended_on, after.end_reason) == (
        SURGERY + 50 * DAY,
        ParticipantStatus.DIED,
    )
    assert inputs_of(operated, as_of=SURGERY - DAY).surgery_date is None
