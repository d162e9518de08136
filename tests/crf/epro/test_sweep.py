"""The survey invitation and reminder sweep (crf.epro.invitations.epro_sweep):
who is invited when, reminders on the configured days, and every reason they
stop. Messages are checked in the outbox here; test_sweep_workers.py delivers
them through a real worker, SMTP server and SMS file backend."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from crf.epro.invitations import epro_sweep
from crf.epro.links import link_for
from crf.models import (
    ContactPreference,
    Death,
    FormStatus,
    Operative,
    PromResponse,
    ResponseMode,
    SurveyInvitation,
    SurveyReminder,
    Withdrawal,
)
from infrastructure.models import OutboundEmail
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
TORONTO = ZoneInfo("America/Toronto")
SURGERY = datetime.date(2026, 3, 1)
OPENS = SURGERY + 10 * DAY  # the 2-week window: days 10–21
CLOSES = SURGERY + 21 * DAY


def local(day: datetime.date, hour: int = 9, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TORONTO)


def contact_add(person, actor, *, channel="email", electronic=True, **fields):
    defaults = {
        "email": f"{person.study_id.lower()}@example.org" if channel == "email" else "",
        "phone": "+14165550123" if channel == "sms" else "",
        "language": "en",
    }
    return ContactPreference.objects.create(
        participant=person,
        electronic_contact=electronic,
        channel=channel,
        recorded_by=actor,
        **{**defaults, **fields},
    )


def operated_add(site, actor, count=1, surgery=SURGERY):
    people = participants_add(site, count, actor=actor)
    Operative.objects.bulk_create(
        Operative(**form_kwargs(p, actor, surgery_date=surgery)) for p in people
    )
    return people


@pytest.fixture
def invited(users, site_a):
    """One e-mail participant whose 2-week window opens on ``OPENS``."""
    actor = users["coordinator"]
    (person,) = operated_add(site_a, actor)
    contact_add(person, actor)
    return person


def sweep_days(days):
    """Sweep at 09:00 on each day; → {day: (invitations, reminders)} for the
    days that wrote something."""
    written = {}
    for day in days:
        result = epro_sweep(now=local(day))
        if result.invitations or result.reminders:
            written[day] = (result.invitations, result.reminders)
    return written


def reminder_numbers(person):
    return list(
        SurveyReminder.objects.filter(invitation__participant=person).values_list(
            "number", flat=True
        )
    )


@pytest.mark.django_db
def test_invitation_on_the_first_sweep_after_the_window_opens(invited):
    assert epro_sweep(now=local(OPENS - DAY, 23, 59)).invitations == 0
    assert not OutboundEmail.objects.exists()
    assert epro_sweep(now=local(OPENS, 0, 5)).invitations == 1
    invitation = SurveyInvitation.objects.get()
    assert (invitation.visit, invitation.invited_on) == ("2w", OPENS)
    assert (invitation.window_start, invitation.window_end) == (OPENS, CLOSES)
    email = OutboundEmail.objects.get()
    assert invitation.message_id == email.pk
    assert email.key == f"epro-invitation:{invitation.pk}"
    assert (email.kind, email.channel) == ("epro_invitation", "email")
    assert email.to == [f"{invited.study_id.lower()}@example.org"]
    assert email.to_participant and email.holds_credential
    assert link_for(invitation) in email.body_text
    assert invited.study_id not in email.body_text + email.subject


@pytest.mark.django_db
def test_reminders_on_days_3_6_and_9_after_the_invitation_then_none(invited):
    written = sweep_days(OPENS + n * DAY for n in range(12))  # up to the close
    assert written == {
        OPENS: (1, 0),
        OPENS + 3 * DAY: (0, 1),
        OPENS + 6 * DAY: (0, 1),
        OPENS + 9 * DAY: (0, 1),
    }
    reminders = SurveyReminder.objects.order_by("number")
    assert [(r.number, r.for_date) for r in reminders] == [
        (1, OPENS + 3 * DAY),
        (2, OPENS + 6 * DAY),
        (3, OPENS + 9 * DAY),
    ]
    assert [r.message.key for r in reminders] == [
        f"epro-reminder:{reminders[0].invitation_id}:{n}" for n in (1, 2, 3)
    ]
    assert OutboundEmail.objects.filter(kind="epro_reminder").count() == 3


@pytest.mark.django_db
@override_settings(
    EPRO={
        "REMINDER_COUNT": 1,
        "REMINDER_SPACING_DAYS": 2,
        "LINK_GUESSES": "20/h",
        "BASELINE_VISIT": "bl",
    }
)
def test_reminder_count_and_spacing_come_from_the_settings(invited):
    written = sweep_days(OPENS + n * DAY for n in range(12))
    assert written == {OPENS: (1, 0), OPENS + 2 * DAY: (0, 1)}


@pytest.mark.django_db
def test_sweep_run_twice_the_same_day_adds_nothing(invited):
    first = epro_sweep(now=local(OPENS, 9))
    again = epro_sweep(now=local(OPENS, 10))
    assert (first.invitations, again.invitations, again.reminders) == (1, 0, 0)
    epro_sweep(now=local(OPENS + 3 * DAY, 9))
    later = epro_sweep(now=local(OPENS + 3 * DAY, 23, 30))
    assert (later.invitations, later.reminders) == (0, 0)
    assert OutboundEmail.objects.count() == 2
    assert reminder_numbers(invited) == [1]


@pytest.mark.django_db
def test_missed_days_do_not_burst_reminders(invited):
    epro_sweep(now=local(OPENS))
    # No sweep for nine days: all three reminders are due by now. Hourly
    # sweeps that day send one, and the next comes 3 days later.
    hourly = [epro_sweep(now=local(OPENS + 9 * DAY, h)).reminders for h in range(24)]
    assert sum(hourly) == 1
    assert reminder_numbers(invited) == [1]
    assert sweep_days([OPENS + 10 * DAY, OPENS + 11 * DAY]) == {}
    # Day +12 is after the window closed: no second reminder then.
    assert sweep_days([CLOSES + DAY]) == {}
    assert reminder_numbers(invited) == [1]


@pytest.mark.django_db
def test_no_reminder_after_submission(invited):
    epro_sweep(now=local(OPENS))
    PromResponse.objects.create(
        participant=invited,
        visit="2w",
        mode=ResponseMode.LINK,
        language="en",
        invitation=SurveyInvitation.objects.get(),
        status=PromResponse.Status.SUBMITTED,
        started_at=local(OPENS, 12),
        last_saved_at=local(OPENS, 12),
        submitted_at=local(OPENS, 12),
    )
    assert sweep_days(OPENS + n * DAY for n in range(1, 12)) == {}
    assert reminder_numbers(invited) == []


@pytest.mark.django_db
def test_response_started_but_not_submitted_is_still_reminded(invited):
    epro_sweep(now=local(OPENS))
    PromResponse.objects.create(
        participant=invited,
        visit="2w",
        mode=ResponseMode.LINK,
        language="en",
        started_at=local(OPENS, 12),
        last_saved_at=local(OPENS, 12),
    )
    assert sweep_days([OPENS + 3 * DAY]) == {OPENS + 3 * DAY: (0, 1)}


@pytest.mark.django_db
def test_no_reminder_after_the_window_closes(users, site_a):
    actor = users["coordinator"]
    (person,) = operated_add(site_a, actor)
    # Contact recorded late: invited two days before the window closes; the
    # first reminder would fall after it.
    contact_add(person, actor)
    assert sweep_days([CLOSES - 2 * DAY]) == {CLOSES - 2 * DAY: (1, 0)}
    assert sweep_days(CLOSES + n * DAY for n in range(-1, 10)) == {}
    assert reminder_numbers(person) == []


@pytest.mark.django_db
def test_no_reminder_after_death(invited, users):
    epro_sweep(now=local(OPENS))
    Death.objects.create(
        **form_kwargs(
            invited,
            users["coordinator"],
            death_date=OPENS + DAY,
            primary_cause="other",
        )
    )
    assert sweep_days(OPENS + n * DAY for n in range(1, 12)) == {}
    assert reminder_numbers(invited) == []


@pytest.mark.django_db
def test_draft_death_form_does_not_stop_reminders(invited, users):
    epro_sweep(now=local(OPENS))
    Death.objects.create(
        **form_kwargs(
            invited,
            users["coordinator"],
            status=FormStatus.DRAFT,
            death_date=OPENS + DAY,
        )
    )
    assert sweep_days([OPENS + 3 * DAY]) == {OPENS + 3 * DAY: (0, 1)}


@pytest.mark.django_db
def test_no_reminder_after_withdrawal(invited, users):
    epro_sweep(now=local(OPENS))
    epro_sweep(now=local(OPENS + 3 * DAY))
    Withdrawal.objects.create(
        **form_kwargs(
            invited,
            users["coordinator"],
            kind="withdrawn",
            withdrawal_date=OPENS + 4 * DAY,
            reason="No longer wishes to take part",
            data_use_permitted=True,
        )
    )
    assert sweep_days(OPENS + n * DAY for n in range(4, 12)) == {}
    assert reminder_numbers(invited) == [1]


@pytest.mark.django_db
def test_no_message_after_opt_out(invited):
    epro_sweep(now=local(OPENS))
    ContactPreference.objects.filter(participant=invited).update(
        opted_out_at=timezone.now()
    )
    assert sweep_days(OPENS + n * DAY for n in range(1, 12)) == {}
    # Nor an invitation for the next visit.
    assert sweep_days([SURGERY + 36 * DAY]) == {}
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_clinic_only_or_no_electronic_contact_never_gets_messages(users, site_a):
    actor = users["coordinator"]
    clinic, refused, invited = operated_add(site_a, actor, 3)
    contact_add(clinic, actor, channel="clinic")
    contact_add(refused, actor, electronic=False, email="refused@example.org")
    contact_add(invited, actor)
    sweep_days(OPENS + n * DAY for n in range(12))
    assert set(SurveyInvitation.objects.values_list("participant", flat=True)) == {
        invited.pk
    }
    assert (
        OutboundEmail.objects.filter(to__contains=["refused@example.org"]).count() == 0
    )
    assert OutboundEmail.objects.count() == 4


@pytest.mark.django_db
def test_sms_channel_writes_a_text_message_to_the_number(users, site_a):
    actor = users["coordinator"]
    (person,) = operated_add(site_a, actor)
    contact_add(person, actor, channel="sms", phone="+14165550142", language="fr")
    epro_sweep(now=local(OPENS))
    invitation = SurveyInvitation.objects.get()
    message = OutboundEmail.objects.get()
    assert (invitation.channel, message.channel) == ("sms", "sms")
    assert message.to == ["+14165550142"]
    assert link_for(invitation) in message.body_text
    assert len(message.body_text) < 480  # a few SMS segments, not an e-mail


@pytest.mark.django_db
def test_later_visit_invited_when_its_window_opens(invited):
    sweep_days(OPENS + n * DAY for n in range(12))
    assert sweep_days([SURGERY + 35 * DAY]) == {SURGERY + 35 * DAY: (1, 0)}
    assert list(SurveyInvitation.objects.values_list("visit", flat=True)) == [
        "2w",
        "6w",
    ]


def sweep_queries(site, actor, count, now):
    people = operated_add(site, actor, count)
    ContactPreference.objects.bulk_create(
        ContactPreference(
            participant=p,
            electronic_contact=True,
            channel="email",
            email=f"p{p.pk}@example.org",
            language="en",
            recorded_by=actor,
        )
        for p in people
    )
    with CaptureQueriesContext(connection) as queries:
        result = epro_sweep(now=now)
    return result, len(queries)


@pytest.mark.django_db
def test_sweep_queries_do_not_grow_with_participants(users, site_a):
    actor = users["coordinator"]
    small, small_queries = sweep_queries(site_a, actor, 10, local(OPENS))
    assert small.invitations == 10
    # 40 more: the second sweep invites them, and reminds no one yet.
    large, large_queries = sweep_queries(site_a, actor, 40, local(OPENS, 10))
    assert large.invitations == 40
    assert large_queries == small_queries, (small_queries, large_queries)
    # Reminders to all 50 at once: bounded too.
    with CaptureQueriesContext(connection) as queries:
        reminded = epro_sweep(now=local(OPENS + 3 * DAY))
    assert reminded.reminders == 50
    assert len(queries) <= small_queries, len(queries)
