"""PROTOCOL §6 visit schedule: the one function that says which visit is due.

Pages, reminders and reports all call ``visit_schedule``. Windows are counted
in days from the date of index surgery (day 0). "Today" is the site's local
date, so a visit opens at midnight in the hospital's own time zone.

States:
* ``upcoming`` – the window has not opened yet;
* ``due`` – inside the window and no completed form;
* ``overdue`` – the window has closed and there is no completed form;
* ``done`` – a completed follow-up form exists;
* ``missed`` – the site recorded the visit as missed, with a reason;
* ``not_expected`` – the participant died or left the study before the window
  closed and the visit had not been done: nothing further is due. (A window
  that had already closed before death stays ``overdue``: it was missed.)
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

# The site's calendar date: the core's rule (``perform.clinical_dates``), the
# one the date checks use, named here too for the schedule's callers.
from perform.clinical_dates import site_today as site_today


@dataclass(frozen=True)
class VisitDefinition:
    code: str
    label: str
    target_day: int
    window_start_day: int
    window_end_day: int


@dataclass(frozen=True)
class VisitState:
    visit: VisitDefinition
    target_date: datetime.date
    window_start: datetime.date
    window_end: datetime.date
    state: str
    forms_expected: tuple[str, ...]
    done_on: datetime.date | None = None
    missed_reason: str = ""

    @property
    def code(self) -> str:
        return self.visit.code


UPCOMING, DUE, OVERDUE, DONE, MISSED, NOT_EXPECTED = (
    "upcoming",
    "due",
    "overdue",
    "done",
    "missed",
    "not_expected",
)
STATES = (UPCOMING, DUE, OVERDUE, DONE, MISSED, NOT_EXPECTED)


def visit_definitions() -> list[VisitDefinition]:
    """The configured visits (``settings.TRIAL["VISITS"]``), in order."""
    return [VisitDefinition(*row) for row in settings.TRIAL["VISITS"]]


def visit_labels() -> dict[str, str]:
    """Visit code → label (``2w`` → ``2 weeks``)."""
    return {visit.code: visit.label for visit in visit_definitions()}


def visit_schedule(
    *,
    surgery_date: datetime.date,
    today: datetime.date,
    done: Mapping[str, datetime.date] | None = None,
    missed: Mapping[str, str] | None = None,
    ended_on: datetime.date | None = None,
    visits: Sequence[VisitDefinition] | None = None,
) -> list[VisitState]:
    """Each visit's window and state.

    ``done``: visit code → date of the completed follow-up; ``missed``: visit
    code → reason; ``ended_on``: date of death or withdrawal (visits whose
    window was still open or not yet open then are not expected; a visit
    already done stays done).
    """
    done = done or {}
    missed = missed or {}
    visits = visit_definitions() if visits is None else visits
    expected_forms = tuple(settings.TRIAL["FOLLOW_UP_FORMS"])
    result = []
    for visit in visits:
        start = surgery_date + datetime.timedelta(days=visit.window_start_day)
        end = surgery_date + datetime.timedelta(days=visit.window_end_day)
        target = surgery_date + datetime.timedelta(days=visit.target_day)
        if visit.code in done:
            state = DONE
        elif visit.code in missed:
            state = MISSED
        elif ended_on is not None and end >= ended_on:
            state = NOT_EXPECTED
        elif today < start:
            state = UPCOMING
        elif today <= end:
            state = DUE
        else:
            state = OVERDUE
        result.append(
            VisitState(
                visit=visit,
                target_date=target,
                window_start=start,
                window_end=end,
                state=state,
                forms_expected=() if state == NOT_EXPECTED else expected_forms,
                done_on=done.get(visit.code),
                missed_reason=missed.get(visit.code, ""),
            )
        )
    return result
