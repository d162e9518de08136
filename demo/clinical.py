"""Planned contents of the scheduled case report forms.

Seeds (as plans, for ``forms``) the baseline (primary cancer, lesion, Mirels
score, instruments), operative (procedure, implant, duration, blood loss),
discharge and follow-up visit forms: most visits done in their window, some
missed with a reason, a few left as drafts or without a form (overdue).
``_drafts_and_overdue_ensured`` makes sure there is at least one of each.
Every value is drawn from the generator passed in, in the order the forms are
planned.
"""

import datetime
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from crf.forms import scoring
from crf.schedule.visits import visit_definitions
from demo.common import S, _clamp, _days, _later_date
from demo.participants import PlannedParticipant

# fmt: off
PRIMARY_CANCERS = (  # (code, relative frequency) in metastatic proximal femur disease
    ("breast", 30), ("lung", 18), ("prostate", 14), ("kidney", 12),
    ("myeloma", 10), ("thyroid", 4), ("other", 7), ("unknown", 5),
)
OTHER_PRIMARIES = ("Colorectal", "Melanoma", "Bladder", "Oesophageal", "Endometrial")
IMPLANTS = {
    "IF": ("Long cephalomedullary nail (Gamma3)", "Long proximal femoral nail (PFNA)",
           "Long reconstruction nail with cement augmentation"),
    "RER": ("Modular proximal femoral replacement (MUTARS)",
            "Proximal femoral megaprosthesis (GMRS) with bipolar head",
            "Modular tumour prosthesis (METS), cemented stem"),
}
INTRAOPERATIVE_COMPLICATIONS = (
    "Minor periprosthetic crack of the calcar; cerclage wire.",
    "Transient hypotension after cementing; resolved with vasopressors.",
    "Greater trochanter fragment; reattached with a claw plate.",
)
MISSED_REASONS = (
    "Too unwell to travel; telephone contact only.",
    "Admitted to another hospital during the window.",
    "Did not attend; could not be reached during the window.",
    "In hospice care; family declined the visit.",
)
# fmt: on
FINAL_VISIT = "12m"
ARMS = ("IF", "RER")


@dataclass
class PlannedForm:
    key: str  # crf.forms.registry.FORMS key
    values: dict
    complete: bool = True
    reason: str = ""  # passed to form_save (moves the status with that reason)
    sign: bool = False
    # Values that depend on the allocated arm (known once randomized): arm →
    # values added to ``values`` when the form is entered.
    by_arm: dict[str, dict] | None = None
    entered: datetime.date | None = None  # the day the site entered it
    late: int | None = None  # entered this many days after the event (not usual)
    # Questionnaire values held back for a link or tablet answer (``demo.epro``):
    # written on the form, as a paper transcription, only if that did not happen.
    held_back: dict | None = None

    def values_for(self, arm: str | None) -> dict:
        return self.values | (self.by_arm[arm] if self.by_arm else {})

    def event_date(self) -> datetime.date | None:
        """The date the form is about (what its entry delay counts from)."""
        for name in EVENT_DATE_FIELDS:
            day = self.values.get(name) or (
                next(iter(self.by_arm.values())).get(name) if self.by_arm else None
            )
            if day:
                return day
        return None


# The field giving each form's date, in order of preference.
EVENT_DATE_FIELDS = (
    "awareness_date", "surgery_date", "discharge_date", "visit_date",
    "reoperation_date", "recurrence_date", "death_date", "withdrawal_date",
    "deviation_date", "assessment_date",
)  # fmt: skip


@dataclass
class PlannedCase:
    """One randomized-or-later participant's forms, in the order they are written."""

    index: int  # position in the participant plan
    site_code: str
    status: str
    surgery_date: datetime.date | None  # None: not operated by today
    end: datetime.date  # today, or the date of death, withdrawal, loss or 12m
    forms: list[PlannedForm] = field(default_factory=list)
    randomization_date: datetime.date | None = None

    def of(self, key: str) -> list[PlannedForm]:
        return [f for f in self.forms if f.key == key]


def _instrument_values(rng, level: float) -> dict:
    """MSTS, TESS, EQ-5D-5L and BPI items for a patient doing this well (0-1)."""

    def good(low: int, high: int) -> int:
        x = _clamp(level + rng.gauss(0, 0.15), 0.0, 1.0)
        return low + round(x * (high - low))

    def bad(low: int, high: int) -> int:
        return high + low - good(low, high)

    values = {f"msts_{n}": good(0, 5) for n in scoring.MSTS_ITEMS}
    for n in range(1, scoring.TESS_ITEM_COUNT + 1):
        # Some activities do not apply to the patient (left empty).
        values[f"tess_{n}"] = None if rng.random() < 0.1 else good(1, 5)
    values |= {f"eq5d_{d}": bad(1, 5) for d in scoring.EQ5D_DIMENSIONS}
    values["eq5d_vas"] = 5 * round(good(5, 95) / 5)
    least, average, worst = sorted(bad(0, 10) for _ in range(3))
    values |= {
        "bpi_worst": worst,
        "bpi_least": least,
        "bpi_average": average,
        "bpi_now": rng.randint(least, worst),
    }
    values |= {f"bpi_{n}": bad(0, 10) for n in scoring.BPI_INTERFERENCE_ITEMS}
    return values


def _diagnosis_as_known(planned: PlannedParticipant) -> str:
    """The date of primary cancer diagnosis as the site knows it (PROTOCOL §7
    allows a partial date): the day for about half, the month for a third,
    else only the year; 1 to 72 months before screening. From its own
    generator, seeded by the participant, so the demo's other values stay as
    they were."""
    rng = random.Random(
        f"diagnosis {planned.site_code} {planned.screening_date} "
        f"{planned.year_of_birth} {planned.sex}"
    )
    day = planned.screening_date - datetime.timedelta(days=rng.randint(30, 2190))
    precision = rng.choices(("day", "month", "year"), (50, 35, 15))[0]
    if precision == "day":
        return day.isoformat()
    return day.strftime("%Y-%m") if precision == "month" else str(day.year)


def _baseline_values(planned: PlannedParticipant, rng) -> dict:
    cancer = rng.choices(*zip(*PRIMARY_CANCERS, strict=True))[0]
    region = rng.choices(
        ("head_neck", "intertrochanteric", "subtrochanteric"), (25, 40, 35)
    )[0]
    impending = planned.fracture_status == "impending"
    mirels = {
        "mirels_site": 3,  # peritrochanteric
        "mirels_pain": 3 if not impending else rng.choices((2, 3), (30, 70))[0],
        "mirels_lesion": rng.choices((1, 2, 3), (10, 25, 65))[0],
        "mirels_size": rng.choices((1, 2, 3), (5, 35, 60))[0],
    }
    # PROTOCOL: an impending fracture needs a Mirels total of 9 or more.
    for name in ("mirels_lesion", "mirels_size", "mirels_pain"):
        while impending and sum(mirels.values()) < 9 and mirels[name] < 3:
            mirels[name] += 1
    # The stored total (crf.forms.scoring), as the web form shows it.
    mirels["mirels_total"] = scoring.mirels_score(
        {n: mirels[f"mirels_{n}"] for n in scoring.MIRELS_ITEMS}
    ).total
    return {
        "assessment_date": _later_date(
            planned.screening_date, planned.decision_date, rng, 0, 7
        ),
        "primary_cancer_diagnosis": _diagnosis_as_known(planned),
        "primary_cancer": cancer,
        "primary_cancer_other": rng.choice(OTHER_PRIMARIES)
        if cancer == "other"
        else "",
        "lesion_region": region,
        "fracture_status": planned.fracture_status,
        **mirels,
        "bone_loss_percent": rng.randint(25, 75),
        "visceral_metastases": rng.random() < 0.4,
        "bone_metastases": rng.choices(("1", "2-4", "5+"), (20, 45, 35))[0],
        "haemoglobin_g_l": round(_clamp(rng.gauss(112, 15), 72, 158)),
        "ecog": rng.choices((0, 1, 2, 3), (10, 35, 40, 15))[0],
        "asa": rng.choices((2, 3), (45, 55))[0],
        "expected_survival_months": rng.choice((6, 8, 9, 12, 12, 18, 24, 24, 36)),
        **_instrument_values(
            rng, 0.15 if planned.fracture_status == "complete" else 0.3
        ),
    }


def _operative_values(procedure: str, surgery: datetime.date, rng) -> dict:
    rer = procedure == "RER"
    return {
        "surgery_date": surgery,
        "procedure": procedure,
        "implant": rng.choice(IMPLANTS[procedure]),
        "duration_min": round(
            _clamp(rng.gauss(190, 45) if rer else rng.gauss(95, 25), 40, 420)
        ),
        "blood_loss_ml": 50
        * round(
            _clamp(rng.gauss(900, 350) if rer else rng.gauss(350, 150), 50, 3000) / 50
        ),
        "transfusion_units": rng.choices(
            (0, 1, 2, 3, 4), (30, 20, 30, 12, 8) if rer else (65, 15, 15, 4, 1)
        )[0],
        "intraoperative_complications": (
            rng.choice(INTRAOPERATIVE_COMPLICATIONS) if rng.random() < 0.08 else ""
        ),
    }


def _follow_up_values(visit_code: str, visit_date, rng) -> dict:
    level = {"2w": 0.35, "6w": 0.5, "4m": 0.65, "6m": 0.7, "9m": 0.72, "12m": 0.72}
    level = level.get(visit_code, 0.6)
    return {
        "visit": visit_code,
        "visit_date": visit_date,
        "vital_status": "alive",
        "ambulatory_status": rng.choices(
            ("independent", "aid", "wheelchair", "bedridden"),
            (level * 60, 40, 12 * (1 - level), 4 * (1 - level)),
        )[0],
        "implant_failure": False,
        "local_progression": False,
        "adjuvant_radiotherapy": rng.random()
        < (0.7 if visit_code in ("2w", "6w") else 0.1),
        "systemic_therapy": rng.random() < 0.65,
        **_instrument_values(rng, level),
    }


def _as_draft(values: dict, rng, *, keep: Iterable[str]) -> dict:
    """A draft: the coordinator stopped part-way (some items left empty)."""
    keep = set(keep)
    filled = [k for k, v in values.items() if k not in keep and v not in (None, "")]
    dropped = set(rng.sample(filled, k=min(len(filled), rng.randint(3, 12))))
    return {
        k: ("" if isinstance(v, str) else None) if k in dropped else v
        for k, v in values.items()
    }


def _follow_ups(case: PlannedCase, planned: PlannedParticipant, today, rng) -> None:
    """Visits whose window has opened: most done in the window, some missed
    with a reason, a few left without a form (overdue) or as drafts."""
    ended = planned.status in {S.DIED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP}
    for visit in visit_definitions():
        start = _days(case.surgery_date, visit.window_start_day)
        end = _days(case.surgery_date, visit.window_end_day)
        if start > today or (ended and end >= case.end):
            break
        final = visit.code == FINAL_VISIT
        if final and planned.status != S.COMPLETED:
            break  # a done final visit would complete the participant
        target = _days(case.surgery_date, visit.target_day)
        jitter = round(rng.gauss(0, (visit.window_end_day - visit.target_day) / 3))
        visit_date = _clamp(_days(target, jitter), start, min(end, today))
        if final:
            visit_date = case.end  # the course's final visit
            case.forms.append(
                PlannedForm(
                    "follow-up",
                    _follow_up_values(visit.code, visit_date, rng),
                    reason=planned.end_reason,
                )
            )
            break
        closed = end < today
        outcome = rng.choices(
            ("done", "missed", "none", "draft"),
            (80, 8, 6, 6) if closed else (40, 0, 50, 10),
        )[0]
        if outcome == "none":
            continue
        values = _follow_up_values(visit.code, visit_date, rng)
        if outcome == "missed":
            values = {
                "visit": visit.code,
                "missed_reason": rng.choice(MISSED_REASONS),
                "vital_status": "alive",
            }
        elif outcome == "draft":
            values = _as_draft(values, rng, keep=("visit", "visit_date"))
        case.forms.append(PlannedForm("follow-up", values, complete=outcome != "draft"))


def _drafts_and_overdue_ensured(cases, today_at, rng) -> None:
    """At least one draft and one overdue visit, whatever the draws."""
    follow_ups = [
        (case, form)
        for case in cases
        if case.status == S.RANDOMIZED
        for form in case.of("follow-up")
        if form.complete and form.values.get("visit_date")
    ]
    if not any(not f.complete for c in cases for f in c.forms) and follow_ups:
        _case, form = follow_ups[-1]
        form.values = _as_draft(form.values, rng, keep=("visit", "visit_date"))
        form.complete = False
    windows = {v.code: v for v in visit_definitions()}

    def overdue(case):
        have = {f.values["visit"] for f in case.of("follow-up")}
        return any(
            code not in have
            and _days(case.surgery_date, windows[code].window_end_day)
            < today_at[case.site_code]
            for code in list(windows)[:-1]
        )

    if not any(overdue(c) for c in cases if c.status == S.RANDOMIZED):
        for case, form in follow_ups:
            closed = _days(
                case.surgery_date, windows[form.values["visit"]].window_end_day
            )
            if form.complete and closed < today_at[case.site_code]:
                case.forms.remove(form)
                break
