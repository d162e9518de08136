"""Each randomized participant's course in time: when they are randomized and
operated, and whether (and when) follow-up ends by death, withdrawal, loss
to follow-up or the final visit, as known to the sites by the demo's today.

Drawn from the plan's generator, without the database. The hazards are those
of the trial's population (PROTOCOL §1; the published study in
``shared/seeds``): about two in three alive a year after surgery, a few
withdrawing or lost each year. A death is known once the site enters the
Death form, days or weeks later: an end not yet entered by today is not in
the demo (the participant is followed, alive, to today).
"""

import datetime
import math
from dataclasses import dataclass

from crf.schedule.visits import visit_definitions
from demo.common import S, _days

# Days from consent to randomization (the Methods Centre randomizes once
# surgery is booked), and from randomization to surgery (weights).
RANDOMIZATION_DELAYS = ((1, 30), (2, 30), (3, 20), (4, 12), (6, 8))
SURGERY_DELAYS = (
    (1, 10), (2, 18), (3, 16), (4, 12), (5, 10), (7, 10), (10, 9), (14, 8), (21, 7),
)  # fmt: skip
# Events per participant-year after surgery.
YEARLY_RATES = {S.DIED: 0.40, S.WITHDRAWN: 0.05, S.LOST_TO_FOLLOW_UP: 0.04}
# Earliest day after surgery each end can fall on.
EARLIEST_DAY = {S.DIED: 3, S.WITHDRAWN: 14, S.LOST_TO_FOLLOW_UP: 60}
# Days from the event to the form that records it: the family or GP tells
# the site of a death within weeks; a loss is declared after weeks of
# attempts (the form's date is the last contact); the final visit's form
# follows the visit.
ENTRY_DELAYS = {
    S.DIED: ((1, 25), (3, 25), (7, 25), (14, 15), (21, 10)),
    S.WITHDRAWN: ((0, 40), (2, 30), (7, 30)),
    S.LOST_TO_FOLLOW_UP: ((35, 30), (50, 40), (70, 30)),
    S.COMPLETED: ((0, 30), (2, 30), (7, 25), (21, 15)),
}
ENDS = (S.DIED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP)


@dataclass(frozen=True)
class Course:
    randomization_date: datetime.date
    surgery_date: datetime.date | None  # None: not operated by today
    status: str  # randomized, or how follow-up ended (as known by today)
    end_date: datetime.date | None = None  # death, withdrawal, last contact, 12m
    end_entered: datetime.date | None = None  # when the ending form was entered


def _weighted(rng, pairs) -> int:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _exponential_day(rng, status) -> int:
    rate = YEARLY_RATES[status] / 365.25
    return EARLIEST_DAY[status] + math.floor(-math.log(1.0 - rng.random()) / rate)


def final_visit_day(rng) -> int:
    """Day after surgery of the final (12-month) visit: near its target."""
    final = visit_definitions()[-1]
    spread = (final.window_end_day - final.target_day) / 3
    day = final.target_day + round(rng.gauss(0, spread))
    return min(max(day, final.window_start_day), final.window_end_day)


def course_draw(consented: datetime.date, today: datetime.date, rng) -> Course:
    """A randomized participant's course: dates, and the end known by today."""
    randomized = min(_days(consented, _weighted(rng, RANDOMIZATION_DELAYS)), today)
    surgery = _days(randomized, _weighted(rng, SURGERY_DELAYS))
    draws = {status: _exponential_day(rng, status) for status in ENDS}
    draws[S.COMPLETED] = final_visit_day(rng)
    delays = {status: _weighted(rng, ENTRY_DELAYS[status]) for status in draws}
    if surgery > today:
        return Course(randomized, None, S.RANDOMIZED)
    status = min(draws, key=draws.get)
    end = _days(surgery, draws[status])
    entered = _days(end, delays[status])
    if entered > today:
        return Course(randomized, surgery, S.RANDOMIZED)
    return Course(randomized, surgery, status, end, entered)


def course_forced(course: Course, status: str, today: datetime.date, rng) -> Course:
    """``course`` ended by ``status`` instead, if its follow-up allows it (or
    None): so that a small demo still shows every status."""
    if course.surgery_date is None:
        return None
    known = (today - course.surgery_date).days
    if status == S.COMPLETED:
        day = final_visit_day(rng)
    else:
        day = EARLIEST_DAY[status] + rng.randint(0, 60)
    delay = ENTRY_DELAYS[status][0][0]
    if day + delay > known:
        return None
    end = _days(course.surgery_date, day)
    return Course(
        course.randomization_date, course.surgery_date, status, end, _days(end, delay)
    )
