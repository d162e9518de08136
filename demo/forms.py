"""The demo's case report forms, planned.

``forms_plan`` plans the forms of every randomized-or-later participant from a
second seeded generator (derived from the demo seed): the scheduled forms
(``clinical``), then the clinical events (``events``), the day each form is
entered (``entry``), then the data queries (``queries``). ``demo.history``
enters them, each at its moment. ``form_counts`` sums them up for the summary.
"""

import datetime
import hashlib
import random
from collections import Counter

from crf.forms.registry import FORMS
from crf.models import FormStatus
from crf.schedule.visits import visit_definitions
from demo.clinical import (
    ARMS,
    PlannedCase,
    PlannedForm,
    _baseline_values,
    _follow_ups,
    _operative_values,
)
from demo.common import S, _days
from demo.entry import entries_plan
from demo.events import _events_plan
from demo.participants import PlannedParticipant
from demo.queries import PlannedQuery, _queries_plan

SIGNED_SHARE = 0.5  # of the investigator's site's complete baseline/operative forms
MAX_SIGNED = 6  # each e-signature re-checks the password (slow by design)


def forms_plan(
    *,
    plan: list[PlannedParticipant],
    seed: int,
    today_at: dict[str, datetime.date],
    investigator_sites: set[str],
) -> tuple[list[PlannedCase], list[PlannedQuery]]:
    """The case report forms of every randomized-or-later participant.

    Drawn from a generator seeded from the demo seed (no database access), so
    the same seed gives the same forms. Dates follow each participant's course
    (``demo.course``): surgery after randomization, events after surgery and
    before the end of follow-up. The allocated arm is not known while planning
    (randomization happens when the history is replayed), so what depends on
    it is planned for both arms (``PlannedForm.by_arm``). Each form then gets
    the day the site entered it (``demo.entry``).
    """
    rng = random.Random(_derived_seed("forms", seed))
    cases = []
    for index, planned in enumerate(plan):
        if planned.course is None:
            continue
        today = today_at[planned.site_code]
        course = planned.course
        surgery = course.surgery_date
        case = PlannedCase(
            index,
            planned.site_code,
            planned.status,
            surgery,
            course.end_date or today,
            randomization_date=course.randomization_date,
        )
        sign = planned.site_code in investigator_sites
        case.forms.append(
            PlannedForm(
                "baseline",
                _baseline_values(planned, rng),
                sign=sign and rng.random() < SIGNED_SHARE,
            )
        )
        cases.append(case)
        if surgery is None:
            continue  # randomized, waiting for surgery
        case.forms.append(
            PlannedForm(
                "operative",
                {},
                by_arm={arm: _operative_values(arm, surgery, rng) for arm in ARMS},
                sign=sign and rng.random() < SIGNED_SHARE,
            )
        )
        discharge = _days(surgery, rng.choice((3, 4, 5, 5, 6, 7, 8, 10, 14)))
        destination = rng.choices(
            ("home", "rehabilitation", "nursing_home", "hospice", "other"),
            (50, 30, 8, 6, 6),
        )[0]
        if discharge <= min(today, case.end):
            case.forms.append(
                PlannedForm(
                    "discharge",
                    {"discharge_date": discharge, "destination": destination},
                )
            )
        else:  # still in hospital: the coordinator has started the form
            case.forms.append(
                PlannedForm("discharge", {"destination": destination}, complete=False)
            )
        _follow_ups(case, planned, today, rng)
    operated = [c for c in cases if c.surgery_date is not None]
    _events_plan(operated, plan, today_at, rng)
    entries_plan(cases, plan, today_at, rng)
    _death_awaiting_its_form(cases, today_at)
    queries = _queries_plan(cases, rng, today_at)
    return cases, queries


DEATH_REPORTED = "Family phoned: the patient died at home; date and cause awaited."


def _death_awaiting_its_form(cases, today_at) -> None:
    """One participant whose death the site has heard of but not yet recorded.

    The next visit, missed, says "dead" while the Death form is a draft
    without a date (PROTOCOL §7, §10): the participant stays randomized, an
    automatic query asks for the Death form and the DSMB report lists the
    case in its data-issues appendix. The first followed participant whose
    next visit's window closed a week or more before today, in plan order
    (no random draw: the rest of the plan is unchanged).
    """
    windows = visit_definitions()
    for case in cases:
        if case.status != S.RANDOMIZED or case.surgery_date is None:
            continue
        today = today_at[case.site_code]
        have = {f.values.get("visit") for f in case.of("follow-up")}
        if len(have) < 2:
            continue
        codes = [v.code for v in windows]
        # The visit after the last one with a form, closed one to six weeks ago.
        last = max(codes.index(code) for code in have)
        if last + 1 >= len(windows) - 1:
            continue
        visit = windows[last + 1]
        closed = _days(case.surgery_date, visit.window_end_day)
        opened = _days(case.surgery_date, visit.window_start_day)
        if not _days(today, -45) <= closed <= _days(today, -7):
            continue
        reported = _days(closed, 3)
        case.forms = [f for f in case.forms if (f.event_date() or f.entered) < opened]
        case.forms.append(
            PlannedForm(
                "follow-up",
                {
                    "visit": visit.code,
                    "missed_reason": DEATH_REPORTED,
                    "vital_status": "dead",
                },
                entered=reported,
            )
        )
        case.forms.append(
            PlannedForm(
                "death",
                {"primary_cause": "unknown", "cause_detail": DEATH_REPORTED},
                complete=False,
                entered=reported,
            )
        )
        return


def _derived_seed(purpose: str, seed: int) -> int:
    material = f"PERFORM demo {purpose}|{seed}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big")


def form_counts() -> dict[str, dict[str, int]]:
    """Form label → status → count, over every CRF (for the summary)."""
    counts = {}
    for spec in FORMS.values():
        rows = Counter(spec.model.objects.values_list("status", flat=True))
        counts[spec.label] = {s: rows.get(s, 0) for s in FormStatus.values}
    return counts
