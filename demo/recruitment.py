"""When the demo's sites recruit: a paused site's pause date, and each
patient's screening day, drawn at an uneven, realistic pace (no database,
no random state of its own)."""

import datetime

from demo.common import _days
from demo.sites import DemoSite

# A paused site stopped recruiting this long after it opened (or 60 days ago).
PAUSE_AFTER_DAYS = 240
# Recruitment slows in the summer holidays and around the new year.
SEASONAL = {8: 0.5, 12: 0.6, 1: 0.7}


def _pause_date(site: DemoSite, today: datetime.date) -> datetime.date | None:
    """When a paused site stopped recruiting (None: still recruiting)."""
    if site.is_active:
        return None
    return min(_days(site.activation_date, PAUSE_AFTER_DAYS), _days(today, -60))


def _screening_days(sites, codes, today, rng) -> list[tuple]:
    """A screening day for each site code drawn: uneven, as real recruitment is.

    Each site ramps up over its first three months, has busy and quiet months
    of its own and slows down in the holidays; nobody screens at weekends.
    Drawn by rejection from the generator, so the same seed gives the same days.
    """
    by_code = {s.code: s for s in sites}
    order = {s.code: i for i, s in enumerate(sites)}
    pace: dict[tuple[str, int, int], float] = {}
    slots = []
    for code in codes:
        site = by_code[code]
        start = site.activation_date
        stop = _pause_date(site, today) or today
        span = max((stop - start).days, 1)
        while True:
            day = _days(start, rng.randrange(span))
            month = (code, day.year, day.month)
            if month not in pace:
                pace[month] = rng.uniform(0.25, 1.0)
            ramp = min(1.0, 0.25 + (day - start).days / 120)
            if rng.random() < ramp * pace[month] * SEASONAL.get(day.month, 1.0):
                break
        # Saturday and Sunday patients are seen on Monday (not after stop).
        if day.weekday() >= 5:
            day = _days(day, 7 - day.weekday())
            if day >= stop:
                day = _days(day, -3)
        slots.append((day, order[code], code))
    return sorted(slots)
