"""Shared by the demo modules: the error the demo raises, the status alias, and
the date helpers its planners use (no database access, no random state of
their own: each helper draws from the generator it is given)."""

import datetime

from perform.models import ParticipantStatus

S = ParticipantStatus


class DemoSeedError(Exception):
    """The demo cannot be built as asked (bad arguments or an unexpected checklist)."""


def _later_date(start: datetime.date, today: datetime.date, rng, lo: int, hi: int):
    return min(start + datetime.timedelta(days=rng.randint(lo, hi)), today)


def _days(day: datetime.date, n: int) -> datetime.date:
    return day + datetime.timedelta(days=n)


def _clamp(value, low, high):
    return max(low, min(high, value))
