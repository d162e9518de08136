"""Planned clinical events of the randomized participants.

Seeds (as plans, for ``forms``) adverse events (some serious, the first one
reported late), reoperations with their serious adverse event, a local
recurrence, crossovers and a late visit (protocol deviations), then the death
and withdrawal forms that end follow-up. Drawn from the forms generator, after
the scheduled forms.
"""

import datetime

from crf.models import Reoperation
from demo.clinical import (
    ARMS,
    PlannedCase,
    PlannedForm,
    _drafts_and_overdue_ensured,
    _operative_values,
)
from demo.common import S, _clamp, _days

# fmt: off
# (term, body system, Clavien-Dindo, serious?, SAE criterion, relatedness)
ADVERSE_EVENTS = (
    ("Superficial wound infection", "infections", "II", False, "", "probable"),
    ("Deep surgical site infection", "infections", "IIIb", True,
     "sae_hospitalization", "definite"),
    ("Deep vein thrombosis", "vascular", "II", False, "", "possible"),
    ("Pulmonary embolism", "respiratory", "IVa", True, "sae_life_threatening",
     "possible"),
    ("Postoperative anaemia requiring transfusion", "blood", "II", False, "",
     "probable"),
    ("Hip dislocation", "musculoskeletal", "IIIb", True, "sae_hospitalization",
     "definite"),
    ("Urinary tract infection", "renal", "II", False, "", "unlikely"),
    ("Delirium", "psychiatric", "I", False, "", "possible"),
    ("Hypercalcaemia", "metabolism", "II", True, "sae_hospitalization",
     "not_related"),
    ("Pneumonia", "respiratory", "IVa", True, "sae_hospitalization", "unlikely"),
    ("Wound dehiscence", "skin", "IIIa", False, "", "probable"),
    ("Pressure ulcer", "skin", "I", False, "", "unlikely"),
)
REOPERATIONS = (  # (reason, procedure)
    ("dislocation", "Open reduction and exchange to a constrained liner."),
    ("infection", "Debridement, antibiotics and implant retention (DAIR)."),
    ("breakage", "Removal of broken nail; conversion to proximal femoral replacement."),
    ("progression", "Curettage and cementation of progressive lesion; re-fixation."),
    ("periprosthetic", "Open reduction and internal fixation with a locking plate."),
)
DEATH_CAUSES = (("progression", 80), ("surgical", 6), ("other", 8), ("unknown", 6))
DEATH_DETAILS = {
    "progression": "Progressive metastatic disease; died in hospice care.",
    "surgical": "Pulmonary embolism after index surgery.",
    "other": "Sepsis from a chest infection during chemotherapy.",
    "unknown": "Reported by the general practitioner; no further details.",
}
# fmt: on
# Share of randomized participants with at least one adverse event.
AE_SHARE = 0.3


def _event_date(case: PlannedCase, end: datetime.date, rng, lo: int, hi: int):
    """A date lo..hi days after surgery, before ``end`` (today or death)."""
    latest = (end - case.surgery_date).days
    return _days(case.surgery_date, _clamp(rng.randint(lo, hi), 0, max(0, latest)))


def _adverse_event(case, end, rng, *, serious=None, late=False) -> PlannedForm:
    pool = [e for e in ADVERSE_EVENTS if serious is None or e[3] == serious]
    term, system, grade, is_serious, criterion, related = rng.choice(pool)
    onset = _event_date(case, end, rng, 1, 90)
    awareness = min(_days(onset, rng.choices((0, 1), (70, 30))[0]), end)
    resolved = rng.random() < 0.7 and (end - onset).days > 10
    values = {
        "term": term,
        "body_system": system,
        "onset_date": onset,
        "awareness_date": awareness,
        "clavien_dindo": grade,
        "serious": is_serious,
        "relatedness": related,
        "expected": rng.random() < 0.8,
        "outcome": "recovered" if resolved else "recovering",
        "resolution_date": _days(onset, rng.randint(5, (end - onset).days))
        if resolved
        else None,
    }
    if criterion:
        values[criterion] = True
    # The late one reached the Methods Centre days after the site knew of it.
    return PlannedForm(
        "adverse-event", values, late=rng.randint(3, 6) if late else None
    )


def _events_plan(cases, plan, today_at, rng) -> None:  # noqa: C901
    """AEs (some serious, one reported late), reoperations, a local recurrence,
    crossovers and protocol deviations, then death and withdrawal forms."""
    if not cases:
        return
    # Prefer participants with some follow-up for events after surgery.
    followed = [c for c in cases if (c.end - c.surgery_date).days >= 21]
    followed = followed or cases
    with_ae = rng.sample(followed, k=max(1, round(AE_SHARE * len(cases))))
    for i, case in enumerate(with_ae):
        for j in range(rng.choices((1, 2, 3), (65, 25, 10))[0]):
            # The very first one is an SAE the site learnt of late (> 24 h).
            first = i == j == 0
            serious = True if first else (None if rng.random() < 0.6 else False)
            case.forms.append(
                _adverse_event(case, case.end, rng, serious=serious, late=first)
            )
    reoperated = rng.sample(followed, k=max(1, round(0.05 * len(cases))))
    for case in reoperated:
        end = case.end
        reason, procedure = rng.choice(REOPERATIONS)
        when = _event_date(case, end, rng, 10, 200)
        case.forms.append(
            PlannedForm(
                "reoperation",
                {"reoperation_date": when, "reason": reason, "procedure": procedure},
            )
        )
        ae = _adverse_event(case, end, rng, serious=True)
        ae.values |= {
            "term": f"{Reoperation.Reason(reason).label} requiring reoperation",
            "body_system": "injury" if reason != "infection" else "infections",
            "onset_date": max(case.surgery_date, _days(when, -rng.randint(0, 3))),
            "clavien_dindo": "IIIb",
            "serious": True,
            "sae_hospitalization": True,
            "relatedness": "definite",
        }
        ae.values["awareness_date"] = ae.values["onset_date"]
        ae.values["resolution_date"] = None
        ae.values["outcome"] = "recovering"
        case.forms.append(ae)
    recurrence = rng.choice(followed)
    recurrence.forms.append(
        PlannedForm(
            "local-recurrence",
            {
                "recurrence_date": _event_date(
                    recurrence, recurrence.end, rng, 60, 300
                ),
                "detected_by": rng.choice(("radiograph", "ct", "mri")),
            },
        )
    )
    # Crossovers: the other procedure than allocated, each a major deviation.
    crossed = rng.sample(cases, k=min(len(cases), 1 if len(cases) < 100 else 2))
    for case in crossed:
        operative = case.of("operative")[0]
        other = {"IF": "RER", "RER": "IF"}
        operative.by_arm = {
            arm: _operative_values(other[arm], case.surgery_date, rng) for arm in ARMS
        }
        case.forms.append(
            PlannedForm(
                "deviation",
                {
                    "deviation_date": case.surgery_date,
                    "category": "treatment",
                    "severity": "major",
                },
                by_arm={
                    arm: {
                        "description": f"Allocated {arm}; {other[arm]} performed "
                        "(surgeon's decision in theatre)."
                    }
                    for arm in ARMS
                },
            )
        )
    late_visit = next(
        (c for c in rng.sample(cases, len(cases)) if c.of("follow-up")), cases[0]
    )
    late_visit.forms.append(
        PlannedForm(
            "deviation",
            {
                "deviation_date": _event_date(late_visit, late_visit.end, rng, 14, 60),
                "category": "visit",
                "description": "Questionnaires completed by telephone, outside the "
                "visit window.",
                "severity": "minor",
            },
        )
    )
    _endings_plan(cases, plan, rng)
    _drafts_and_overdue_ensured(cases, today_at, rng)


def _endings_plan(cases, plan, rng) -> None:
    """Death and withdrawal forms, written last: they move the status."""
    for case in cases:
        planned = plan[case.index]
        if planned.status == S.DIED:
            cause = rng.choices(*zip(*DEATH_CAUSES, strict=True))[0]
            if cause == "surgical":
                ae = _adverse_event(case, case.end, rng, serious=True)
                ae.values |= {
                    "term": "Fatal pulmonary embolism",
                    "body_system": "respiratory",
                    "onset_date": case.end,
                    "awareness_date": case.end,
                    "clavien_dindo": "V",
                    "sae_death": True,
                    "outcome": "fatal",
                    "resolution_date": None,
                }
                case.forms.append(ae)
            case.forms.append(
                PlannedForm(
                    "death",
                    {
                        "death_date": case.end,
                        "primary_cause": cause,
                        "cause_detail": DEATH_DETAILS[cause],
                    },
                    reason=planned.end_reason,
                )
            )
        elif planned.status in {S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}:
            case.forms.append(
                PlannedForm(
                    "withdrawal",
                    {
                        "kind": planned.status,
                        "withdrawal_date": case.end,
                        "reason": planned.end_reason,
                        "data_use_permitted": rng.random() < 0.9,
                    },
                    reason=planned.end_reason,
                )
            )
