"""The demo's clock: every demo action runs at its own simulated moment.

A real trial's history is written over months: a participant is screened one
day, randomized two days later, operated the next week, and the forms arrive
days or weeks after each event. The demo replays that history in one run, so
each action runs inside ``at(moment)``, which moves two clocks:

* Python's, with time-machine (``timezone.now()``, ``date.today()`` and
  everything built on them: status history, query and form timestamps, the
  outbox, "today" in the entry rules and the visit schedule);
* the database's audit clock (``perform.database.AUDIT_CLOCK_SQL``): the
  pghistory triggers stamp events with ``perform_audit_clock()``, which honours
  the transaction-local setting ``perform.demo_clock`` for the owner role only.
  The seeder therefore runs as the owner (``make seed`` and ``make run`` do);
  the application role cannot backdate anything, and the services have no
  clock parameter of their own: they are the production code, unchanged.

time-machine (a maintained C extension) is used rather than a clock argument
threaded through every service, which would be the back door for backdating
the issue forbids.
"""

import contextlib
import datetime

import time_machine
from django.db import connection

from perform.database import AUDIT_CLOCK_FUNCTION, AUDIT_CLOCK_SETTING

_PROBE = datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def _audit_clock_set(moment: datetime.datetime | None) -> None:
    value = moment.isoformat() if moment else ""
    with connection.cursor() as cursor:
        # Local to the transaction: gone at its end whatever happens.
        cursor.execute("SELECT set_config(%s, %s, true)", [AUDIT_CLOCK_SETTING, value])


def audit_clock_honoured() -> bool:
    """Whether this connection's audit events take the simulated moment (only
    the owner role's do). Call inside a transaction."""
    _audit_clock_set(_PROBE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {AUDIT_CLOCK_FUNCTION}()")  # noqa: S608 - constant
            return cursor.fetchone()[0] == _PROBE
    finally:
        _audit_clock_set(None)


@contextlib.contextmanager
def at(moment: datetime.datetime):
    """Run the block at ``moment`` (aware), in Python and in the audit trail.

    The Python clock ticks from ``moment`` (so two changes in one action keep
    their order); the audit clock stays at ``moment`` for the whole action, as
    ``NOW()`` stays at a transaction's start.
    """
    if moment.tzinfo is None:
        raise ValueError("The demo clock needs an aware date-time.")
    _audit_clock_set(moment)
    try:
        with time_machine.travel(moment, tick=True):
            yield
    finally:
        _audit_clock_set(None)
