"""The reminder sweep (crf.schedule.reminders): what each digest lists, for whom, when
(each site's own clock, across daylight-saving changes), and that running it
again adds nothing. E-mails are checked in the outbox here; tests/crf/
test_email_workers.py delivers them through a real worker and SMTP server."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from crf.models import FollowUp, Operative, VisitReminder
from crf.schedule.reminders import reminders_sweep
from infrastructure.models import OutboundEmail
from tests.crf.bulk import form_kwargs, participants_add
from tests.factories import UserFactory

DAY = datetime.timedelta(days=1)
TORONTO = ZoneInfo("America/Toronto")


def at(zone, *args) -> datetime.datetime:
    """An aware moment: local wall-clock time ``args`` in ``zone``."""
    return datetime.datetime(*args, tzinfo=zone)


def operated(participant, actor, surgery_date):
    return Operative(**form_kwargs(participant, actor, surgery_date=surgery_date))


@pytest.fixture
def toronto_cohort(users, site_a):
    """Site A (Toronto) on local date 2026-03-10: one participant per case.

    2w window = days 10–21 after surgery, 6w = days 35–56.
    """
    today = datetime.date(2026, 3, 10)
    actor = users["coordinator"]
    people = participants_add(site_a, 6, actor=actor)
    overdue, opening_tomorrow, closing, due_later, done, opening_later = people
    Operative.objects.bulk_create(
        [
            operated(overdue, actor, today - 23 * DAY),  # 2w closed 2 days ago
            operated(opening_tomorrow, actor, today - 9 * DAY),  # 2w opens tomorrow
            operated(closing, actor, today - 19 * DAY),  # 2w closes in 2 days
            operated(due_later, actor, today - 12 * DAY),  # 2w closes in 9 days
            operated(done, actor, today - 15 * DAY),
            operated(opening_later, actor, today - 2 * DAY),  # 2w opens in 8 days
        ]
    )
    FollowUp.objects.create(
        **form_kwargs(done, actor, visit="2w", visit_date=today - 1 * DAY)
    )
    # The Methods Centre's weekly digest (due since Monday) has its own test.
    users["datamanager"].receives_visit_reminders = False
    users["datamanager"].save()
    return {
        "today": today,
        "overdue": overdue.study_id,
        "opening": opening_tomorrow.study_id,
        "closing": closing.study_id,
    }


def digests():
    return OutboundEmail.objects.filter(kind="visit_digest").order_by("key")


@pytest.mark.django_db
def test_daily_digest_lists_opening_closing_and_overdue_visits(users, toronto_cohort):
    now = at(TORONTO, 2026, 3, 10, 7, 5)
    result = reminders_sweep(now=now)
    assert (result.daily_emails, result.weekly_emails) == (1, 0)
    (email,) = digests()
    assert email.to == ["coordinator@example.org"]
    assert email.key == f"visit-digest:TOR:{users['coordinator'].pk}:2026-03-10"
    assert email.subject == (
        "PERFORM TOR: visits for 2026-03-10 "
        "(1 overdue, 1 window closes soon, 1 window opens soon)"
    )
    text = email.body_text
    assert f"{toronto_cohort['overdue']}, 2 weeks visit: window 2026-02-25 to " in text
    assert "(closed 2 days ago)" in text
    assert f"{toronto_cohort['closing']}, 2 weeks visit" in text
    assert f"{toronto_cohort['opening']}, 2 weeks visit: window 2026-03-11" in text
    assert (
        f"/participants/{toronto_cohort['opening']}/forms/follow-up/2w/"
        in email.body_html
    )
    listed = sorted(
        (r.participant.study_id, r.visit, r.reason, r.for_date)
        for r in VisitReminder.objects.select_related("participant")
    )
    assert listed == sorted(
        [
            (toronto_cohort["overdue"], "2w", "overdue", toronto_cohort["today"]),
            (toronto_cohort["closing"], "2w", "closing", toronto_cohort["today"]),
            (toronto_cohort["opening"], "2w", "opening", toronto_cohort["today"]),
        ]
    )
    # Neither the other site's coordinator nor the investigator gets it.
    assert not OutboundEmail.objects.filter(to__contains=["coordinator2@example.org"])


@pytest.mark.django_db
def test_no_digest_before_the_daily_hour_at_the_site(users, toronto_cohort):
    # 06:59 in Toronto is 11:59 UTC: still too early there.
    assert reminders_sweep(now=at(TORONTO, 2026, 3, 10, 6, 59)).daily_emails == 0
    assert not digests().exists()
    assert reminders_sweep(now=at(TORONTO, 2026, 3, 10, 7, 0)).daily_emails == 1


@pytest.mark.django_db
def test_visit_opening_tomorrow_in_the_sites_time_zone_is_in_todays_digest(
    users, toronto_cohort
):
    # 23:30 in Toronto on the 10th is already the 11th in UTC: the site's
    # date decides, so the 2-week window opening on the 11th is "tomorrow".
    now = at(TORONTO, 2026, 3, 10, 23, 30)
    assert now.astimezone(datetime.UTC).date() == datetime.date(2026, 3, 11)
    reminders_sweep(now=now)
    (email,) = digests()
    assert email.key.endswith(":2026-03-10")
    opening = VisitReminder.objects.get(participant__study_id=toronto_cohort["opening"])
    assert (opening.reason, opening.window_start) == (
        "opening",
        datetime.date(2026, 3, 11),
    )


@pytest.mark.django_db
def test_running_the_sweep_again_the_same_day_adds_nothing(users, toronto_cohort):
    first = reminders_sweep(now=at(TORONTO, 2026, 3, 10, 7, 5))
    again = reminders_sweep(now=at(TORONTO, 2026, 3, 10, 15, 5))
    assert (first.daily_emails, first.visits_listed) == (1, 3)
    assert (again.daily_emails, again.visits_listed) == (0, 0)
    assert digests().count() == 1
    assert VisitReminder.objects.count() == 3
    # The next day is a new digest.
    assert reminders_sweep(now=at(TORONTO, 2026, 3, 11, 7, 5)).daily_emails == 1


@pytest.mark.django_db
def test_opted_out_and_addressless_coordinators_get_no_digest(users, toronto_cohort):
    users["coordinator"].receives_visit_reminders = False
    users["coordinator"].save()
    colleague = UserFactory(username="colleague", email="")
    colleague.groups.set(users["coordinator"].groups.all())
    colleague.memberships.create(site=users["coordinator"].memberships.get().site)
    assert reminders_sweep(now=at(TORONTO, 2026, 3, 10, 8)).daily_emails == 0
    assert not digests().exists()


@pytest.mark.django_db
def test_weekly_digest_to_the_methods_centre_on_monday(users, toronto_cohort):
    # Monday 2026-03-09, 07:30 UTC (03:30 in Toronto: no site digest yet).
    monday = datetime.datetime(2026, 3, 9, 7, 30, tzinfo=datetime.UTC)
    assert monday.weekday() == 0
    users["datamanager"].receives_visit_reminders = True
    users["datamanager"].save()
    sunday = monday - DAY
    assert reminders_sweep(now=sunday).weekly_emails == 0
    result = reminders_sweep(now=monday)
    assert (result.daily_emails, result.weekly_emails) == (0, 1)
    email = OutboundEmail.objects.get(kind="weekly_digest")
    assert email.to == ["datamanager@example.org"]
    assert (
        email.subject == "PERFORM week of 2026-03-09: 1 overdue visits, 0 open queries"
    )
    assert (
        f"{toronto_cohort['overdue']}, 2 weeks visit: window closed" in email.body_text
    )
    # Later in the week: the same week's digest, not another.
    assert reminders_sweep(now=monday + 3 * DAY).weekly_emails == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "start"),
    [
        # Spring forward: 2026-03-08 02:00 EST → 03:00 EDT. From local
        # midnight on the 7th.
        ("America/Toronto", datetime.datetime(2026, 3, 7, 5, 0, tzinfo=datetime.UTC)),
        # Fall back: 2026-04-05 03:00 AEDT → 02:00 AEST. From local midnight
        # on the 3rd.
        ("Australia/Sydney", datetime.datetime(2026, 4, 2, 13, 0, tzinfo=datetime.UTC)),
    ],
)
def test_one_digest_per_local_day_across_a_daylight_saving_change(
    users, site_a, zone, start
):
    site_a.time_zone = zone
    site_a.save()
    actor = users["coordinator"]
    (person,) = participants_add(site_a, 1, actor=actor)
    # Overdue every day of the run: one item in every daily digest.
    Operative.objects.create(
        **form_kwargs(person, actor, surgery_date=datetime.date(2026, 1, 1))
    )
    created = []
    for hour in range(96):  # hourly sweeps over four days, as beat runs them
        now = start + datetime.timedelta(hours=hour, minutes=5)
        if reminders_sweep(now=now).daily_emails:
            created.append(now.astimezone(ZoneInfo(zone)))
    local_dates = [c.date() for c in created]
    assert local_dates == sorted(set(local_dates))  # one per local day
    assert len(created) == 4
    # Each at the first sweep after 07:00 local, whatever the UTC offset.
    assert {(c.hour, c.minute) for c in created} == {(7, 5)}
    offsets = {c.utcoffset() for c in created}
    assert len(offsets) == 2  # the run did cross the change
    assert [e.key.rsplit(":", 1)[1] for e in digests()] == [
        d.isoformat() for d in local_dates
    ]


def cohort_of(users, site_a, site_b, count):
    actor = users["coordinator"]
    people = participants_add(site_a, count // 2, actor=actor) + participants_add(
        site_b, count - count // 2, actor=actor
    )
    today = datetime.date(2026, 3, 10)
    Operative.objects.bulk_create(
        operated(p, actor, today - (i % 60) * DAY) for i, p in enumerate(people)
    )


@pytest.mark.django_db
@override_settings(
    REMINDERS={
        **{"DAILY_HOUR": 0, "WEEKLY_DAY": 0, "WEEKLY_HOUR": 0},
        "OPENING_DAYS": 7,
        "CLOSING_DAYS": 3,
    }
)
def test_sweep_query_count_does_not_grow_with_visits(users, site_a, site_b):
    monday = datetime.datetime(2026, 3, 9, 12, 0, tzinfo=datetime.UTC)

    def queries(day):
        with CaptureQueriesContext(connection) as ctx:
            result = reminders_sweep(now=monday + day * DAY * 7)
        return len(ctx.captured_queries), result

    cohort_of(users, site_a, site_b, 10)
    few, few_result = queries(0)
    cohort_of(users, site_a, site_b, 200)
    many, many_result = queries(1)
    assert many_result.visits_listed > 10 * few_result.visits_listed > 0
    assert few == many
