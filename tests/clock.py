"""Today's date for fixtures, as the test sites' calendars have it.

The platform judges "in the future", "before screening" and visit windows by
the site's own calendar (``crf.schedule.visits.site_today``), not the server's
UTC day. Fixtures that wrote ``datetime.date.today()`` (UTC on the server) put
tomorrow's date on Toronto's forms between 00:00 and 05:00 UTC, and the suite
failed whenever it ran then. Fixtures take their dates from here instead,
asked when the test runs (not at import, so a run that crosses midnight stays
consistent within a test).
"""

import datetime

from crf.schedule.visits import site_today

# The westernmost time zone of the test sites (tests/conftest.py: Toronto and
# Berlin): its date is today or already past at every test site.
WESTERNMOST = "America/Toronto"


def today() -> datetime.date:
    """Today at the westernmost test site: never a future date at any of them."""
    return site_today(WESTERNMOST)


def today_at(site) -> datetime.date:
    """Today at ``site`` (a Site), as its staff's calendar has it."""
    return site_today(site.time_zone)
