"""The demo's case report forms, planned and entered.

``forms_plan`` plans the forms of every randomized-or-later participant from a
second seeded generator (derived from the demo seed) once the arms are known:
the scheduled forms (``clinical``), then the clinical events (``events``),
then the data queries (``queries``). ``_forms_write`` enters them through
``crf.forms.services.form_save`` as the site coordinators would, the investigator
signs a few, and the data manager raises the queries. ``form_counts`` sums
them up for the summary.
"""

import datetime
import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterable

from crf.forms import services as crf_services
from crf.forms.registry import FORMS
from crf.models import CrfForm, FormStatus
from demo.clinical import (
    PlannedCase,
    PlannedForm,
    _baseline_values,
    _follow_ups,
    _operative_values,
)
from demo.common import DemoSeedError, S, _days, _later_date
from demo.events import _events_plan
from demo.participants import (
    RANDOMIZED_OR_LATER,
    PlannedParticipant,
    _follow_up_end,
)
from demo.queries import PlannedQuery, _queries_plan, _queries_write
from perform.models import Participant, User

SIGNED_SHARE = 0.5  # of the investigator's site's complete baseline/operative forms
MAX_SIGNED = 6  # each e-signature re-checks the password (slow by design)


def forms_plan(
    *,
    plan: list[PlannedParticipant],
    arms: dict[int, str],
    seed: int,
    today_at: dict[str, datetime.date],
    investigator_sites: set[str],
) -> tuple[list[PlannedCase], list[PlannedQuery]]:
    """The case report forms of every randomized-or-later participant.

    ``arms``: plan index → allocated arm. Drawn from a generator seeded from the
    demo seed (no database access), so the same seed gives the same forms.

    Clinical dates come from the planned (past) consent date: surgery 1-10 days
    after it, never after the site's today. The demo's history is backdated
    by design: each allocation is dated on the planned consent day
    (``allocation._participants_randomize``), so the forms keep the rules
    ``form_save`` enforces for every caller (``crf.forms.rules``: surgery not
    before randomization, events not before surgery).
    """
    rng = random.Random(_derived_seed("forms", seed))
    cases = []
    for index, planned in enumerate(plan):
        if planned.status not in RANDOMIZED_OR_LATER:
            continue
        today = today_at[planned.site_code]
        end = min(planned.end_date or today, today)
        latest_surgery = _days(end, -1) if planned.end_date else today
        surgery = _later_date(planned.decision_date, latest_surgery, rng, 1, 10)
        surgery = max(surgery, planned.decision_date)
        case = PlannedCase(index, planned.site_code, planned.status, surgery, end)
        arm = arms[index]
        sign = planned.site_code in investigator_sites
        case.forms.append(
            PlannedForm(
                "baseline",
                _baseline_values(planned, rng),
                sign=sign and rng.random() < SIGNED_SHARE,
            )
        )
        case.forms.append(
            PlannedForm(
                "operative",
                _operative_values(arm, surgery, rng),
                sign=sign and rng.random() < SIGNED_SHARE,
            )
        )
        discharge = _days(surgery, rng.choice((3, 4, 5, 5, 6, 7, 8, 10, 14)))
        destination = rng.choices(
            ("home", "rehabilitation", "nursing_home", "hospice", "other"),
            (50, 30, 8, 6, 6),
        )[0]
        if discharge <= min(today, end):
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
        cases.append(case)
    _events_plan(cases, plan, today_at, rng)
    queries = _queries_plan(cases, rng)
    return cases, queries


def _derived_seed(purpose: str, seed: int) -> int:
    material = f"PERFORM demo {purpose}|{seed}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big")


def _forms_write(
    cases: list[PlannedCase],
    queries: list[PlannedQuery],
    *,
    plan: list[PlannedParticipant],
    participants: list[Participant],
    coordinators: dict[str, User],
    investigator: User,
    datamanager: User,
    password: str,
    progress: Callable[..., Iterable],
) -> None:
    """Enter the planned forms as the site coordinators would, through
    ``form_save``; the investigator signs a few; the data manager raises the
    queries (``crf.queries.services.query_raise``) and the site answers one. A complete
    death, withdrawal or final-visit form moves the participant's status."""
    written: dict[tuple[int, str], CrfForm] = {}
    signed = 0
    for case in progress(cases, total=len(cases), desc="Case report forms"):
        participant = participants[case.index]
        coordinator = coordinators[case.site_code]
        for planned_form in case.forms:
            form = FORMS[planned_form.key].model(
                participant=participant, **planned_form.values
            )
            crf_services.form_save(
                actor=coordinator,
                form=form,
                complete=planned_form.complete,
                reason=planned_form.reason,
            )
            written.setdefault((case.index, planned_form.key), form)
            if planned_form.sign and signed < MAX_SIGNED:
                crf_services.form_sign(actor=investigator, form=form, password=password)
                signed += 1
        participant.refresh_from_db(fields=["status"])
        planned = plan[case.index]
        if participant.status != planned.status and planned.status == S.COMPLETED:
            # Only if the final visit's window had not opened at the site yet.
            _follow_up_end(
                participant=participant, plan=planned, coordinator=coordinator
            )
            participant.refresh_from_db(fields=["status"])
        if participant.status != planned.status:
            raise DemoSeedError(
                f"{participant.study_id} ended {participant.status}, planned "
                f"{planned.status}."
            )
    _queries_write(
        queries,
        written=written,
        plan=plan,
        coordinators=coordinators,
        datamanager=datamanager,
    )


def form_counts() -> dict[str, dict[str, int]]:
    """Form label → status → count, over every CRF (for the summary)."""
    counts = {}
    for spec in FORMS.values():
        rows = Counter(spec.model.objects.values_list("status", flat=True))
        counts[spec.label] = {s: rows.get(s, 0) for s in FormStatus.values}
    return counts
