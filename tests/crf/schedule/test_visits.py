"""PROTOCOL §6 visit windows: edges, missed visits, death, site time zones."""

import datetime
import re
from pathlib import Path

import pytest

from crf.forms.serializers import FormInputSerializer
from crf.schedule.visits import site_today, visit_definitions, visit_schedule

SURGERY = datetime.date(2026, 1, 10)


def state_of(code, **kwargs):
    for visit in visit_schedule(surgery_date=SURGERY, **kwargs):
        if visit.code == code:
            return visit
    raise AssertionError(code)


def day(n):
    return SURGERY + datetime.timedelta(days=n)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(day(9), "upcoming"), (day(10), "due"), (day(21), "due"), (day(22), "overdue")],
)
def test_two_week_window_edges(today, expected):
    visit = state_of("2w", today=today)
    assert (visit.window_start, visit.window_end) == (day(10), day(21))
    assert visit.state == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (day(334), "upcoming"),
        (day(335), "due"),
        (day(395), "due"),
        (day(396), "overdue"),
    ],
)
def test_twelve_month_window_edges(today, expected):
    assert state_of("12m", today=today).state == expected


def test_windows_of_every_visit_match_the_protocol():
    windows = [
        (v.code, v.window_start, v.window_end, v.target_date)
        for v in visit_schedule(surgery_date=SURGERY, today=SURGERY)
    ]
    assert windows == [
        ("2w", day(10), day(21), day(14)),
        ("6w", day(35), day(56), day(42)),
        ("4m", day(106), day(136), day(120)),
        ("6m", day(168), day(198), day(183)),
        ("9m", day(244), day(304), day(274)),
        ("12m", day(335), day(395), day(365)),
    ]


def test_done_and_missed_visits_keep_their_state_after_the_window():
    schedule = visit_schedule(
        surgery_date=SURGERY,
        today=day(200),
        done={"2w": day(15)},
        missed={"6w": "Patient in hospice"},
    )
    states = {v.code: v.state for v in schedule}
    assert states == {
        "2w": "done",
        "6w": "missed",
        "4m": "overdue",
        "6m": "overdue",
        "9m": "upcoming",
        "12m": "upcoming",
    }
    assert schedule[1].missed_reason == "Patient in hospice"


def test_death_mid_schedule_leaves_nothing_further_due():
    # Died on day 150: 2w done, 6w window closed unvisited (overdue = missed before
    # death), 4m window closed before death, 6m window not yet open at death.
    schedule = visit_schedule(
        surgery_date=SURGERY,
        today=day(400),
        done={"2w": day(14)},
        ended_on=day(150),
    )
    states = {v.code: v.state for v in schedule}
    assert states == {
        "2w": "done",
        "6w": "overdue",
        "4m": "overdue",
        "6m": "not_expected",
        "9m": "not_expected",
        "12m": "not_expected",
    }
    assert all(v.forms_expected == () for v in schedule if v.state == "not_expected")


def test_death_inside_an_open_window_cancels_that_visit():
    schedule = visit_schedule(surgery_date=SURGERY, today=day(40), ended_on=day(38))
    assert {v.code: v.state for v in schedule}["6w"] == "not_expected"


def test_site_today_uses_the_site_time_zone():
    # 03:30 UTC on 20 Jan is still 19 Jan in Toronto but 20 Jan in Hamburg.
    now = datetime.datetime(2026, 1, 20, 3, 30, tzinfo=datetime.UTC)
    toronto = site_today("America/Toronto", now=now)
    hamburg = site_today("Europe/Berlin", now=now)
    assert (toronto, hamburg) == (
        datetime.date(2026, 1, 19),
        datetime.date(2026, 1, 20),
    )
    # Surgery on 10 Jan: the 2-week window opens on day 10 = 20 Jan, already
    # open in Hamburg at that instant but not yet in Toronto.
    surgery = datetime.date(2026, 1, 10)
    assert state_of_for(surgery, toronto, "2w") == "upcoming"
    assert state_of_for(surgery, hamburg, "2w") == "due"


def state_of_for(surgery, today, code):
    return {v.code: v.state for v in visit_schedule(surgery_date=surgery, today=today)}[
        code
    ]


def test_configured_visits_are_read_when_used_not_at_import(settings):
    settings.TRIAL = {
        **settings.TRIAL,
        "VISITS": [["1m", "1 month", 30, 25, 40], ["3m", "3 months", 90, 80, 100]],
    }
    assert [v.code for v in visit_definitions()] == ["1m", "3m"]
    assert list(FormInputSerializer().fields["visit"].choices) == ["1m", "3m"]


PACKAGES = [
    "config",
    "demo",
    "outcomes",
    "crf",
    "randomization",
    "perform",
    "infrastructure",
]


def test_only_visit_definitions_reads_the_configured_visits():
    """Everything else asks ``crf.schedule.visits.visit_definitions()``."""
    root = Path(__file__).resolve().parents[3]
    readers = sorted(
        str(path.relative_to(root))
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if re.search(r"TRIAL\s*(\[\s*|\.get\(\s*)[\"']VISITS[\"']", path.read_text())
    )
    assert readers == ["crf/schedule/visits.py"]
