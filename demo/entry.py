"""When the sites entered each planned form (``PlannedForm.entered``).

Real forms arrive after the event they record: most within a few days, some
weeks late (the end of a clinic day is when coordinators catch up), a
serious adverse event within a day of the site learning of it (one late).
A form whose day of entry is after the site's today has not been entered yet,
so it is dropped from the plan: recent visits stay overdue, as in a real
trial. The baseline is entered before randomization (its fracture status is
checked on the randomize page), every form after surgery once the operative
form is in (the entry rules need the date of surgery), and the form that ends
follow-up on the day the participant's course says.
"""

import datetime

from crf.schedule.visits import visit_definitions
from demo.common import _days

# (delay in days, weight): the usual lag between an event and its form.
DELAYS = ((0, 25), (1, 20), (2, 10), (3, 8), (5, 10), (7, 7), (10, 6), (14, 5),
          (21, 4), (30, 3), (45, 2))  # fmt: skip
SAE_DELAYS = ((0, 70), (1, 30))
POST_OPERATIVE = {"discharge", "follow-up", "adverse-event", "reoperation",
                  "local-recurrence"}  # fmt: skip


def _delay(rng, pairs=DELAYS) -> int:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _entered(form, case, plan_end_entered, rng) -> datetime.date:
    if form.key == "baseline":
        # Before randomization (the randomizer sees the baseline's answers).
        day = _days(form.values["assessment_date"], _delay(rng, ((0, 60), (1, 40))))
        return min(day, _days(case.randomization_date, -1))
    if form.reason:  # the form that ends follow-up (death, withdrawal, 12m)
        return plan_end_entered
    if form.late is not None:
        return _days(form.event_date(), form.late)
    if form.key == "adverse-event" and form.values.get("serious"):
        return _days(form.event_date(), _delay(rng, SAE_DELAYS))
    day = form.event_date()
    if day is None and form.key == "follow-up":  # missed: after the window closed
        windows = {v.code: v for v in visit_definitions()}
        window_end = windows[form.values["visit"]].window_end_day
        day = _days(case.surgery_date, window_end + rng.randint(1, 10))
    elif day is None:  # a draft started the day after surgery
        day = _days(case.surgery_date, 1)
    return _days(day, _delay(rng))


def _not_after_entry(form) -> None:
    """No date on a form is after the day it is entered: an adverse event
    still ongoing then is entered as recovering, without its resolution."""
    values = form.values
    if form.key == "adverse-event" and (
        values.get("resolution_date") or form.entered
    ) > (form.entered):
        values["resolution_date"] = None
        values["outcome"] = "recovering"
    dates = [
        v
        for v in form.values_for("IF").values()
        if isinstance(v, datetime.date) and v > form.entered
    ]
    if dates:
        form.entered = max(dates)


def entries_plan(cases, plan, today_at, rng) -> None:
    """Give every planned form its day of entry; drop those not entered yet."""
    for case in cases:
        course = plan[case.index].course
        operative = None
        for form in case.forms:
            form.entered = _entered(form, case, course.end_entered, rng)
            _not_after_entry(form)
            if form.key == "operative":
                form.entered = max(form.entered, case.surgery_date)
                operative = form.entered
            elif form.key in POST_OPERATIVE and operative is not None:
                form.entered = max(form.entered, operative)
        today = today_at[case.site_code]
        case.forms = [f for f in case.forms if f.entered <= today]
