"""The questionnaire window rule (crf.epro.windows): when a visit's
questionnaires open and close, in the site's calendar, and what closes them
early. Times are built as local wall-clock moments of the site (Toronto), so a
rule reckoned in UTC instead of the site's days fails the midnight cases."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from crf.epro.windows import (
    CLOSED,
    ENDED,
    LOCKED,
    MISSED,
    NO_WINDOW,
    NOT_YET,
    OPEN,
    SUBMITTED,
    survey_closed_reason,
    survey_window,
)
from crf.models import (
    Death,
    FollowUp,
    FormStatus,
    Operative,
    PromResponse,
    ResponseMode,
    Withdrawal,
)
from perform.models import ConsentRecord
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
TORONTO = ZoneInfo("America/Toronto")
SURGERY = datetime.date(2026, 3, 1)
# The 2-week visit's window: days 10 to 21 after surgery (config TRIAL VISITS).
OPENS = SURGERY + 10 * DAY
CLOSES = SURGERY + 21 * DAY


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """Wall-clock time ``hour:minute`` on ``day`` in Toronto (aware)."""
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TORONTO)


@pytest.fixture
def operated(users, site_a):
    """A randomized participant at site A (Toronto), operated on ``SURGERY``."""
    actor = users["coordinator"]
    (person,) = participants_add(site_a, 1, actor=actor)
    Operative.objects.create(**form_kwargs(person, actor, surgery_date=SURGERY))
    return person


def reason(person, visit, now):
    return survey_window(person, visit, now=now).closed_reason


@pytest.mark.django_db
def test_window_opens_at_local_midnight_of_its_first_day(operated):
    # 23:59 in Toronto is already the next day in UTC: the site's day counts.
    assert reason(operated, "2w", local(OPENS - DAY, 23, 59)) == NOT_YET
    first = survey_window(operated, "2w", now=local(OPENS, 0, 1))
    assert first.is_open
    assert (first.window_start, first.window_end) == (OPENS, CLOSES)
    assert first.message == ""


@pytest.mark.django_db
def test_window_stays_open_through_its_last_local_day_then_closes(operated):
    assert reason(operated, "2w", local(CLOSES, 23, 59)) == OPEN
    after = survey_window(operated, "2w", now=local(CLOSES + DAY, 0, 1))
    assert after.closed_reason == CLOSED
    assert "passed" in after.message


@pytest.mark.django_db
def test_later_visit_not_yet_open_while_the_first_is(operated):
    now = local(OPENS + DAY, 12)
    assert reason(operated, "2w", now) == OPEN
    assert reason(operated, "6w", now) == NOT_YET


@pytest.mark.django_db
def test_no_window_without_a_surgery_date(users, site_a):
    (person,) = participants_add(site_a, 1, actor=users["coordinator"])
    assert reason(person, "2w", local(OPENS, 12)) == NO_WINDOW


@pytest.mark.django_db
def test_submitted_response_closes_the_window(operated):
    now = local(OPENS + DAY, 12)
    PromResponse.objects.create(
        participant=operated,
        visit="2w",
        mode=ResponseMode.TABLET,
        language="en",
        status=PromResponse.Status.IN_PROGRESS,
        started_at=now,
        last_saved_at=now,
    )
    assert reason(operated, "2w", now) == OPEN  # started, not yet submitted
    PromResponse.objects.filter(participant=operated).update(
        status=PromResponse.Status.SUBMITTED, submitted_at=now
    )
    assert reason(operated, "2w", now) == SUBMITTED


@pytest.mark.django_db
def test_complete_death_form_closes_the_window_a_draft_does_not(operated, users):
    actor = users["coordinator"]
    now = local(OPENS + 2 * DAY, 12)
    death = Death.objects.create(
        **form_kwargs(operated, actor, status=FormStatus.DRAFT, death_date=OPENS + DAY)
    )
    assert reason(operated, "2w", now) == OPEN
    death.status = FormStatus.COMPLETE
    death.save()
    assert reason(operated, "2w", now) == ENDED
    assert reason(operated, "6w", local(SURGERY + 40 * DAY, 12)) == ENDED


@pytest.mark.django_db
def test_complete_withdrawal_closes_the_window(operated, users):
    Withdrawal.objects.create(
        **form_kwargs(
            operated,
            users["coordinator"],
            kind="withdrawn",
            withdrawal_date=OPENS,
            reason="Moved away",
            data_use_permitted=True,
        )
    )
    assert reason(operated, "2w", local(OPENS + DAY, 12)) == ENDED


@pytest.mark.django_db
def test_visit_recorded_as_missed_closes_the_window(operated, users):
    FollowUp.objects.create(
        **form_kwargs(
            operated, users["coordinator"], visit="2w", missed_reason="Hospitalized"
        )
    )
    assert reason(operated, "2w", local(OPENS + DAY, 12)) == MISSED


@pytest.mark.django_db
def test_locked_follow_up_form_closes_the_window(operated, users):
    form = FollowUp.objects.create(
        **form_kwargs(
            operated, users["coordinator"], status=FormStatus.DRAFT, visit="2w"
        )
    )
    assert reason(operated, "2w", local(OPENS + DAY, 12)) == OPEN
    form.locked, form.locked_at = True, timezone.now()
    form.save()
    assert reason(operated, "2w", local(OPENS + DAY, 12)) == LOCKED


@pytest.mark.django_db
def test_baseline_window_runs_from_consent_to_the_day_of_surgery(users, site_a):
    actor = users["coordinator"]
    (person,) = participants_add(site_a, 1, actor=actor)
    consent = SURGERY - 5 * DAY
    ConsentRecord.objects.create(
        participant=person,
        decision=ConsentRecord.Decision.GIVEN,
        decision_date=consent,
        form_version="v1",
        obtained_by="Dr Who",
        recorded_by=actor,
    )
    assert reason(person, "bl", local(consent - DAY, 23, 59)) == NOT_YET
    # Before surgery is recorded the baseline stays open (no end yet).
    open_ended = survey_window(person, "bl", now=local(consent, 0, 1))
    assert open_ended.is_open and open_ended.window_end is None
    Operative.objects.create(**form_kwargs(person, actor, surgery_date=SURGERY))
    assert reason(person, "bl", local(SURGERY, 23, 59)) == OPEN
    assert reason(person, "bl", local(SURGERY + DAY, 0, 1)) == CLOSED


@pytest.mark.django_db
def test_baseline_without_consent_has_no_window(operated):
    assert reason(operated, "bl", local(SURGERY - DAY, 12)) == NO_WINDOW


def test_closed_reason_order_submitted_then_ended_then_window():
    """The pure rule: a submitted response says so even after the end of
    follow-up; the end of follow-up outranks a missed or locked visit."""
    today = datetime.date(2026, 3, 15)
    window = {"window_start": today - DAY, "window_end": today + DAY}
    assert survey_closed_reason(today=today, **window) == OPEN
    assert (
        survey_closed_reason(today=today, submitted=True, status="died", **window)
        == SUBMITTED
    )
    assert survey_closed_reason(today=today, status="withdrawn", **window) == ENDED
    assert survey_closed_reason(today=today, ended_on=today, missed=True, **window) == (
        ENDED
    )
    # A window that closed before the participant died closed with time.
    past = {"window_start": today - 30 * DAY, "window_end": today - 10 * DAY}
    assert survey_closed_reason(today=today, status="died", **past) == CLOSED
    # Follow-up ending tomorrow leaves today open.
    assert survey_closed_reason(today=today, ended_on=today + DAY, **window) == OPEN
    assert survey_closed_reason(today=today, missed=True, locked=True, **window) == (
        MISSED
    )
