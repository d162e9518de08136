"""A realistic demo trial for ``manage.py seed_demo``: sites, staff, participants,
and an active allocation list with the randomized participants' allocations.

Everything random comes from one ``random.Random(seed)`` and is drawn while
*planning* (no database access), so the same arguments on the same day give
the same trial. The plan is then carried out through the trial services, so the
status history and the audit trail are the ones real use would leave behind:

1. the demo ``statistician`` generates the allocation list (its seed derived
   from the demo seed) and activates it;
2. each site's coordinator screens its patients and records consent decisions;
3. the demo ``randomizer`` randomizes, with ``participant_randomize``, every
   patient planned as randomized or later, in order of consent date;
4. the coordinators enter the case report forms of every randomized participant
   with ``crf.services.form_save`` (baseline, operative, discharge, follow-up
   visits, adverse events, reoperations, deviations; some drafts, some visits
   left overdue), the investigator signs a few, and the data manager raises a
   few queries (``crf.queries``), one answered by the site. The end of
   follow-up comes from the forms, as in real use: a complete Death or
   Withdrawal form, or the final visit's follow-up, moves the status
   (``forms_plan``, ``_forms_write``).

Some eligible patients are left awaiting consent, and some consented ones
awaiting randomization (``_leave_some_waiting``).
"""

import contextlib
import datetime
import hashlib
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from crf import queries as crf_queries
from crf import scoring
from crf import services as crf_services
from crf.models import CrfForm, DataQuery, FormStatus, Reoperation
from crf.registry import FORMS
from crf.schedule import site_today, visit_definitions
from perform import roles, services
from perform.models import (
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    Site,
    SiteMembership,
    User,
)
from randomization import services as randomization_services
from randomization.models import AllocationList, Slot

S = ParticipantStatus

DEFAULT_SITES = 8
DEFAULT_PARTICIPANTS = 240
DEFAULT_SEED = 2025
DEFAULT_PASSWORD = "perform-demo-2025"  # noqa: S105 - printed demo password, by design
CONSENT_FORM_VERSION = "2.1 (2025-01-15)"
ALLOCATION_LIST_NAME = "PERFORM allocation list (demo)"


class DemoSeedError(Exception):
    """The demo cannot be built as asked (bad arguments or an unexpected checklist)."""


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    country: str
    time_zone: str
    activation_date: datetime.date
    size: int  # relative recruiting capacity; targets are scaled from it
    coordinator: tuple[str, str]  # first and last name of the site's coordinator
    is_active: bool = True


def _site(code, name, country, tz, activated, size, coordinator, active=True):
    return DemoSite(
        code=code,
        name=name,
        country=country,
        time_zone=tz,
        activation_date=datetime.date.fromisoformat(activated),
        size=size,
        coordinator=tuple(coordinator.split(" ", 1)),
        is_active=active,
    )


# Fictitious but real-looking academic centres, in order of activation.
# fmt: off
SITE_CATALOGUE: tuple[DemoSite, ...] = (
    _site("TOR", "Toronto University Hospital", "Canada", "America/Toronto",
          "2025-02-03", 24, "Priya Raman"),
    _site("BAL", "Baltimore Academic Medical Center", "United States",
          "America/New_York", "2025-02-24", 22, "Marcus Whitfield"),
    _site("HAM", "University Hospital Hamburg", "Germany", "Europe/Berlin",
          "2025-03-17", 20, "Katrin Vogel"),
    _site("LEI", "Leiden University Hospital", "Netherlands", "Europe/Amsterdam",
          "2025-04-07", 18, "Sanne de Vries"),
    _site("MIL", "Milan Orthopaedic Institute", "Italy", "Europe/Rome",
          "2025-05-05", 20, "Giulia Ferraro"),
    _site("VAN", "Vancouver Academic Hospital", "Canada", "America/Vancouver",
          "2025-06-02", 14, "Liam Chen"),
    _site("BOS", "Boston University Orthopaedic Center", "United States",
          "America/New_York", "2025-07-14", 20, "Rachel Goldberg"),
    _site("LON", "London Orthopaedic Hospital", "United Kingdom", "Europe/London",
          "2025-09-01", 16, "Amara Okafor", active=False),
    _site("AMS", "Amsterdam University Medical Centre", "Netherlands",
          "Europe/Amsterdam", "2025-09-22", 14, "Daan Bakker"),
    _site("MTL", "Montreal University Health Centre", "Canada", "America/Toronto",
          "2025-10-13", 14, "Emilie Gagnon"),
    _site("CHI", "Chicago Lakeside University Hospital", "United States",
          "America/Chicago", "2025-11-03", 16, "Denise Kowalski"),
    _site("MUN", "Munich University Hospital", "Germany", "Europe/Berlin",
          "2025-11-24", 16, "Florian Huber"),
    _site("OSL", "Oslo University Hospital", "Norway", "Europe/Oslo",
          "2025-12-15", 12, "Ingrid Solberg"),
    _site("STO", "Stockholm University Hospital", "Sweden", "Europe/Stockholm",
          "2026-01-12", 12, "Erik Lindqvist"),
    _site("ROC", "Rochester Academic Medical Center", "United States",
          "America/Chicago", "2026-02-02", 18, "Hannah Olson"),
    _site("BOL", "Bologna Orthopaedic Institute", "Italy", "Europe/Rome",
          "2026-02-23", 16, "Marco Ricci"),
    _site("VIE", "Vienna Medical University Hospital", "Austria", "Europe/Vienna",
          "2026-03-16", 12, "Theresa Gruber"),
    _site("CPH", "Copenhagen University Hospital", "Denmark", "Europe/Copenhagen",
          "2026-04-06", 10, "Mette Jensen"),
    _site("ZUR", "Zurich University Hospital", "Switzerland", "Europe/Zurich",
          "2026-04-27", 10, "Lukas Meier"),
    _site("HOU", "Houston Cancer Center", "United States", "America/Chicago",
          "2026-05-11", 16, "Carmen Alvarez"),
    _site("SEA", "Seattle University Medical Center", "United States",
          "America/Los_Angeles", "2026-05-25", 12, "Nathan Park"),
    _site("LYO", "Lyon University Hospital", "France", "Europe/Paris",
          "2026-06-08", 10, "Camille Laurent"),
    _site("CAL", "Calgary Foothills Academic Hospital", "Canada", "America/Edmonton",
          "2026-06-15", 10, "Owen MacLeod"),
    _site("BCN", "Barcelona University Hospital", "Spain", "Europe/Madrid",
          "2026-06-29", 10, "Laia Puig"),
)
# fmt: on


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    site_codes: tuple[str, ...] = ()
    is_staff: bool = False
    is_superuser: bool = False


def demo_users(site_catalogue: Iterable[DemoSite]) -> list[DemoUser]:
    """The demo accounts for the chosen sites (the first two get named logins)."""
    chosen = list(site_catalogue)
    first, second = chosen[0], chosen[1]
    # fmt: off
    users = [
        DemoUser("coordinator", *first.coordinator, (roles.SITE_COORDINATOR,),
                 (first.code,)),
        DemoUser("coordinator2", *second.coordinator, (roles.SITE_COORDINATOR,),
                 (second.code,)),
        DemoUser("investigator", "Jonathan", "Mercer", (roles.SITE_INVESTIGATOR,),
                 (first.code,)),
        DemoUser("datamanager", "Aisha", "Rahman", (roles.DATA_MANAGER,),
                 is_staff=True),
        DemoUser("randomizer", "Tomasz", "Nowak", (roles.RANDOMIZER,)),
        DemoUser("statistician", "Helen", "Brooks", (roles.STATISTICIAN,)),
        DemoUser("dsmb", "Robert", "Lindgren", (roles.DSMB_MEMBER,)),
        # Not a superuser: the administrator runs the admin but holds no
        # participant-level permission (perform/roles.py).
        DemoUser("admin", "Alex", "Morgan", (roles.ADMINISTRATOR,), is_staff=True),
    ]
    users += [
        DemoUser(f"coord_{site.code.lower()}", *site.coordinator,
                 (roles.SITE_COORDINATOR,), (site.code,))
        for site in chosen[2:]
    ]
    # fmt: on
    return users


# ---------------------------------------------------------------------------
# Planning: every random draw happens here, without touching the database.
# ---------------------------------------------------------------------------

# fmt: off
# (criterion code, answer that fails it, note, relative frequency)
INELIGIBILITY_REASONS = (
    ("survival_6_months", False, "Expected survival about {n} months (oncology).", 30),
    ("cortical_loss_25_75", False, "Cortical bone loss {loss}% on CT.", 20),
    ("previous_index_surgery", True, "Previous {op} of the index femur.", 12),
    ("asa_3_or_less", False, "ASA 4: {asa}.", 12),
    ("rcc_oligometastatic", True,
     "Renal cell carcinoma, solitary bone metastasis: for en-bloc surgery.", 8),
    ("both_procedures_appropriate", False,
     "Surgeon judges only internal fixation appropriate (extensive disease).", 7),
    ("unable_follow_up", True, "Lives {km} km away; cannot attend follow-up.", 5),
    ("active_infection", True, "Active infection at the surgical site.", 3),
    ("primary_bone_sarcoma", True, "Biopsy: primary chondrosarcoma.", 2),
    ("mbd_proximal_femur", False, "Lesion in the femoral diaphysis only.", 1),
)
# fmt: on
PREVIOUS_OPERATIONS = (
    "sliding hip screw fixation",
    "prophylactic nailing",
    "hemiarthroplasty",
)
ASA_4_CONDITIONS = (
    "severe heart failure",
    "end-stage COPD",
    "recent myocardial infarction",
)
PENDING_ANSWERS = (
    ("cortical_loss_25_75", "Awaiting CT for cortical bone loss."),
    ("survival_6_months", "Awaiting oncology survival estimate."),
    ("asa_3_or_less", "Anaesthetic assessment pending."),
    ("both_procedures_appropriate", "To be discussed at the tumour board."),
)
DECLINE_REASONS = (
    "Prefers internal fixation; does not want to be randomized.",
    "Prefers endoprosthetic reconstruction; does not want to be randomized.",
    "Feels too unwell to take part in research.",
    "Family decision after discussion.",
    "Travel for follow-up visits too difficult.",
)
END_REASONS = {
    S.WITHDRAWN: (
        "Participant withdrew consent for further follow-up on {date}.",
        "Withdrawn on {date} to enter hospice care; data collected so far may be used.",
    ),
    S.LOST_TO_FOLLOW_UP: (
        "No contact since {date} after three attempts by phone and letter.",
    ),
    S.DIED: (
        "Died on {date} of cancer progression (reported by family).",
        "Died on {date}; cause under review.",
    ),
    S.COMPLETED: ("12-month follow-up visit completed on {date}.",),
}
RANDOMIZED_OR_LATER = {S.RANDOMIZED, *END_REASONS}
# One patient in this many is left eligible (awaiting consent) and one consented
# (awaiting randomization): see _leave_some_waiting.
WAITING_EVERY = 48
WAITING = {S.ELIGIBLE, S.CONSENTED}
# Earliest day (after screening) at which each status is plausible.
MIN_DAYS = {
    S.RANDOMIZED: 2,
    S.WITHDRAWN: 14,
    S.DIED: 21,
    S.LOST_TO_FOLLOW_UP: 90,
    S.COMPLETED: 390,
}


def _status_weights(days_since_screening: int) -> dict[str, float]:
    """How likely each final status is for a patient screened that long ago."""
    d = days_since_screening
    recent = d < 21
    weights = {
        S.SCREENED: 12 if recent else 0.4,
        S.INELIGIBLE: 40,
        S.ELIGIBLE: 25 if d < 30 else 0,
        S.DECLINED: 9,
        # Consented, surgery booked, not yet randomized: the randomizer's queue.
        S.CONSENTED: 25 if d < 30 else 0,
        S.RANDOMIZED: 30 if MIN_DAYS[S.RANDOMIZED] <= d < MIN_DAYS[S.COMPLETED] else 0,
        S.WITHDRAWN: 3,
        S.LOST_TO_FOLLOW_UP: 2,
        S.DIED: 8,
        S.COMPLETED: 30,
    }
    for status, min_days in MIN_DAYS.items():
        if d < min_days and status != S.RANDOMIZED:
            weights[status] = 0
    return weights


@dataclass(frozen=True)
class PlannedParticipant:
    site_code: str
    screening_date: datetime.date
    age: int
    year_of_birth: int
    sex: str
    fracture_status: str
    status: str
    answers: dict[str, bool | None] = field(default_factory=dict)
    screening_notes: str = ""
    decision_date: datetime.date | None = None
    decline_reason: str = ""
    end_reason: str = ""
    end_date: datetime.date | None = None  # death, withdrawal, loss or last visit


def _cover_every_status(statuses: list[str], days: list[int], rng) -> None:
    """Make every status occur (when there are enough patients), in place."""
    for status in S.values:
        if status in statuses or len(statuses) < len(S.values):
            continue
        counts = Counter(statuses)
        spare = [i for i, s in enumerate(statuses) if counts[s] > 1]
        plausible = [i for i in spare if _status_weights(days[i])[status] > 0]
        statuses[rng.choice(plausible or spare)] = status


def _leave_some_waiting(
    statuses: list[str], days: list[int], site_codes: list[str], recruiting: set[str]
) -> None:
    """Leave patients waiting for consent and for randomization, in place.

    At least one patient in ``WAITING_EVERY`` (and at least one) ends *eligible*,
    awaiting consent, and as many *consented*, awaiting randomization, so the
    demo has work queued. Missing ones are taken from the most recently screened
    patients at recruiting sites, one site at a time in turn so the queues are
    spread over sites; the last patient of any status is never taken (see
    ``_cover_every_status``). No random draw: the plan stays reproducible.
    """
    wanted = max(1, len(statuses) // WAITING_EVERY)
    for status in (S.CONSENTED, S.ELIGIBLE):
        missing = wanted - statuses.count(status)
        counts = Counter(statuses)
        by_site: dict[str, list[int]] = {}
        for i in sorted(range(len(statuses)), key=lambda i: (days[i], -i)):
            if site_codes[i] in recruiting and statuses[i] not in WAITING:
                by_site.setdefault(site_codes[i], []).append(i)
        while missing > 0 and any(by_site.values()):
            for queue in list(by_site.values()):
                while queue and counts[statuses[queue[0]]] <= 1:
                    queue.pop(0)
                if not queue or missing <= 0:
                    continue
                i = queue.pop(0)
                counts[statuses[i]] -= 1
                statuses[i] = status
                missing -= 1


def _answers_for(status, *, criterion_codes, rng):
    """Checklist answers (only the deviations from 'all met') and a note."""
    if status == S.SCREENED:
        pending = [p for p in PENDING_ANSWERS if p[0] in criterion_codes]
        picked = rng.sample(pending, k=min(len(pending), rng.choice((1, 1, 2))))
        return {code: None for code, _ in picked}, " ".join(n for _, n in picked)
    if status == S.INELIGIBLE:
        reasons = [r for r in INELIGIBILITY_REASONS if r[0] in criterion_codes]
        if not reasons:
            raise DemoSeedError(
                "The checklist has none of the demo ineligibility items."
            )
        k = 2 if rng.random() < 0.12 and len(reasons) > 1 else 1
        picked = []
        while len(picked) < k:
            reason = rng.choices(reasons, weights=[r[3] for r in reasons])[0]
            if reason not in picked:
                picked.append(reason)
        values = {
            "n": rng.randint(2, 5),
            "loss": rng.choice((rng.randint(10, 22), rng.randint(78, 92))),
            "op": rng.choice(PREVIOUS_OPERATIONS),
            "asa": rng.choice(ASA_4_CONDITIONS),
            "km": rng.randint(250, 900),
        }
        answers = {code: failing for code, failing, _, _ in picked}
        return answers, " ".join(note.format(**values) for _, _, note, _ in picked)
    return {}, ""


def _later_date(start: datetime.date, today: datetime.date, rng, lo: int, hi: int):
    return min(start + datetime.timedelta(days=rng.randint(lo, hi)), today)


def demo_plan(
    *,
    sites: list[DemoSite],
    participants: int,
    seed: int,
    today: datetime.date,
    criterion_codes: set[str],
) -> list[PlannedParticipant]:
    """Every participant of the demo, in screening order, from one seeded generator."""
    rng = random.Random(seed)
    open_sites = [s for s in sites if s.activation_date < today]
    if participants and not open_sites:
        raise DemoSeedError("No demo site has been activated before today.")
    # Every open site screens at least one patient; the rest go by capacity and
    # time since activation.
    codes = [s.code for s in open_sites][:participants]
    weights = [s.size * (today - s.activation_date).days for s in open_sites]
    codes += rng.choices(
        [s.code for s in open_sites], weights=weights, k=participants - len(codes)
    )
    by_code = {s.code: s for s in sites}
    order = {s.code: i for i, s in enumerate(sites)}
    slots = []
    for code in codes:
        start = by_code[code].activation_date
        span = (today - start).days
        # More recent days are denser: recruitment ramps up after activation.
        day = start + datetime.timedelta(days=round(span * rng.random() ** 0.75))
        slots.append((day, order[code], code))
    slots.sort()

    days = [(today - day).days for day, _, _ in slots]
    statuses = []
    for d in days:
        weights = _status_weights(d)
        statuses.append(rng.choices(list(weights), weights=list(weights.values()))[0])
    _cover_every_status(statuses, days, rng)
    _leave_some_waiting(
        statuses,
        days,
        [code for _, _, code in slots],
        recruiting={s.code for s in open_sites if s.is_active},
    )

    plan = []
    for (day, _, code), status in zip(slots, statuses, strict=True):
        age = max(28, min(93, round(rng.gauss(66, 11))))
        answers, notes = _answers_for(status, criterion_codes=criterion_codes, rng=rng)
        decision_date = decline_reason = end_reason = end_date = None
        if status not in {S.SCREENED, S.INELIGIBLE, S.ELIGIBLE}:
            decision_date = _later_date(day, today, rng, 0, 10)
        if status == S.DECLINED:
            decline_reason = rng.choice(DECLINE_REASONS)
        if status in END_REASONS:
            lo = 365 + rng.randint(0, 30) if status == S.COMPLETED else 14
            end_date = _later_date(decision_date, today, rng, lo, max(lo, 400))
            end_reason = rng.choice(END_REASONS[status]).format(date=end_date)
        plan.append(
            PlannedParticipant(
                site_code=code,
                screening_date=day,
                age=age,
                year_of_birth=day.year - age - rng.randint(0, 1),
                sex=rng.choices(("female", "male", "other"), weights=(48, 51, 1))[0],
                fracture_status=rng.choices(("impending", "complete"), (55, 45))[0],
                status=status,
                answers=answers,
                screening_notes=notes,
                decision_date=decision_date,
                decline_reason=decline_reason or "",
                end_reason=end_reason or "",
                end_date=end_date,
            )
        )
    return plan


# ---------------------------------------------------------------------------
# Case report forms: planned from a second seeded generator once the arms are
# known, then written through ``crf.services.form_save``.
# ---------------------------------------------------------------------------

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
QUERY_TEXTS = (  # (form key, field, text); the first one is answered by the site
    ("operative", "blood_loss_ml",
     "Blood loss of {blood_loss_ml} mL: please confirm against the anaesthesia "
     "record."),
    ("baseline", "haemoglobin_g_l",
     "Haemoglobin {haemoglobin_g_l} g/L: please confirm the value and the date of "
     "the sample."),
    ("baseline", "expected_survival_months",
     "Expected survival of {expected_survival_months} months: please confirm with "
     "the surgeon."),
    ("operative", "duration_min",
     "Duration of {duration_min} min: please check the theatre log."),
    ("discharge", "discharge_date",
     "Please confirm the discharge date ({discharge_date})."),
)
QUERY_ANSWER = "Checked against the source document: the value is correct."
# fmt: on
FINAL_VISIT = "12m"
# Share of randomized participants with at least one adverse event.
AE_SHARE = 0.3
SIGNED_SHARE = 0.5  # of the investigator's site's complete baseline/operative forms


@dataclass
class PlannedForm:
    key: str  # crf.registry.FORMS key
    values: dict
    complete: bool = True
    reason: str = ""  # passed to form_save (moves the status with that reason)
    sign: bool = False


@dataclass
class PlannedCase:
    """One randomized-or-later participant's forms, in the order they are written."""

    index: int  # position in the participant plan
    site_code: str
    status: str
    surgery_date: datetime.date
    end: datetime.date  # today, or the date of death, withdrawal or loss
    forms: list[PlannedForm] = field(default_factory=list)

    def of(self, key: str) -> list[PlannedForm]:
        return [f for f in self.forms if f.key == key]


@dataclass(frozen=True)
class PlannedQuery:
    index: int
    key: str
    field_name: str
    text: str
    answered: bool


def _days(day: datetime.date, n: int) -> datetime.date:
    return day + datetime.timedelta(days=n)


def _clamp(value, low, high):
    return max(low, min(high, value))


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
    # The stored total (crf.scoring), as the web form shows it.
    mirels["mirels_total"] = scoring.mirels_score(
        {n: mirels[f"mirels_{n}"] for n in scoring.MIRELS_ITEMS}
    ).total
    return {
        "assessment_date": _later_date(
            planned.screening_date, planned.decision_date, rng, 0, 7
        ),
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


def _event_date(case: PlannedCase, end: datetime.date, rng, lo: int, hi: int):
    """A date lo..hi days after surgery, before ``end`` (today or death)."""
    latest = (end - case.surgery_date).days
    return _days(case.surgery_date, _clamp(rng.randint(lo, hi), 0, max(0, latest)))


def _adverse_event(case, end, rng, *, serious=None, late=False) -> PlannedForm:
    pool = [e for e in ADVERSE_EVENTS if serious is None or e[3] == serious]
    term, system, grade, is_serious, criterion, related = rng.choice(pool)
    onset = _event_date(case, end, rng, 1, 90)
    delay = rng.randint(3, 9) if late else rng.choices((0, 1), (70, 30))[0]
    awareness = min(_days(onset, delay), end)
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
    return PlannedForm("adverse-event", values)


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
    after it, never after the site's today. The demo randomizes "now", so its
    history is backdated by design: the web and API forms (``crf.rules``) would
    refuse a surgery date before the randomization date, but ``form_save``
    itself does not check it, and the demo writes through ``form_save``.
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
        allocated = operative.values["procedure"]
        other = "IF" if allocated == "RER" else "RER"
        operative.values |= _operative_values(other, case.surgery_date, rng)
        case.forms.append(
            PlannedForm(
                "deviation",
                {
                    "deviation_date": case.surgery_date,
                    "category": "treatment",
                    "description": f"Allocated {allocated}; {other} performed "
                    "(surgeon's decision in theatre).",
                    "severity": "major",
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


def _queries_plan(cases, rng) -> list[PlannedQuery]:
    """A few data queries raised by the data manager; the first one answered."""
    queries = []
    for n, (key, field_name, text) in enumerate(
        QUERY_TEXTS[: max(3, len(cases) // 30)]
    ):
        candidates = [
            c
            for c in cases
            if any(
                f.complete and f.values.get(field_name) is not None for f in c.of(key)
            )
        ]
        if not candidates:
            continue
        case = rng.choice(candidates)
        form = next(f for f in case.of(key) if f.complete)
        queries.append(
            PlannedQuery(
                case.index, key, field_name, text.format(**form.values), answered=n == 0
            )
        )
    return queries


def _derived_seed(purpose: str, seed: int) -> int:
    material = f"PERFORM demo {purpose}|{seed}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big")


MAX_SIGNED = 6  # each e-signature re-checks the password (slow by design)


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
    queries (``crf.queries.query_raise``) and the site answers one. A complete
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
    for planned_query in queries:
        form = written[(planned_query.index, planned_query.key)]
        query = crf_queries.query_raise(
            actor=datamanager,
            form=form,
            field_name=planned_query.field_name,
            text=planned_query.text,
        )
        if planned_query.answered:
            crf_queries.query_answer(
                actor=coordinators[plan[planned_query.index].site_code],
                query=query,
                text=QUERY_ANSWER,
            )


def form_counts() -> dict[str, dict[str, int]]:
    """Form label → status → count, over every CRF (for the summary)."""
    counts = {}
    for spec in FORMS.values():
        rows = Counter(spec.model.objects.values_list("status", flat=True))
        counts[spec.label] = {s: rows.get(s, 0) for s in FormStatus.values}
    return counts


def site_targets(sites: list[DemoSite], total: int) -> dict[str, int]:
    """Split the trial target over ``sites`` by size (largest remainder)."""
    size = sum(s.size for s in sites)
    exact = {s.code: total * s.size / size for s in sites}
    targets = {code: int(value) for code, value in exact.items()}
    leftover = total - sum(targets.values())
    for code in sorted(exact, key=lambda c: targets[c] - exact[c])[:leftover]:
        targets[code] += 1
    return targets


# ---------------------------------------------------------------------------
# Carrying out the plan through the services.
# ---------------------------------------------------------------------------


@dataclass
class SeedResult:
    sites: list[Site]
    users: list[DemoUser]
    status_counts: dict[str, int]
    allocation_list: AllocationList
    randomized: int
    forms: dict[str, dict[str, int]] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)


def demo_data_present() -> bool:
    return (
        Site.objects.exists()
        or Participant.objects.exists()
        or AllocationList.objects.exists()
    )


def _sites_create(chosen: list[DemoSite]) -> dict[str, Site]:
    targets = site_targets(chosen, settings.TRIAL["TARGET_ENROLMENT"])
    created = {}
    for demo_site in chosen:
        site = Site(
            code=demo_site.code,
            name=demo_site.name,
            country=demo_site.country,
            time_zone=demo_site.time_zone,
            activation_date=demo_site.activation_date,
            target_enrolment=targets[demo_site.code],
            is_active=True,  # recruitment pauses are applied after screening
        )
        site.full_clean()
        site.save()
        created[site.code] = site
    return created


def _users_create(specs, *, sites: dict[str, Site], password: str) -> dict[str, User]:
    taken = sorted(
        User.objects.filter(username__in=[u.username for u in specs]).values_list(
            "username", flat=True
        )
    )
    if taken:
        raise DemoSeedError(f"Demo usernames already in use: {', '.join(taken)}.")
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLE_PERMISSIONS)}
    # One hash for the one (printed) demo password: hashing is slow by design.
    hashed = make_password(password)
    users = {}
    for spec in specs:
        user = User(
            username=spec.username,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@example.org",
            is_staff=spec.is_staff,
            is_superuser=spec.is_superuser,
        )
        user.password = hashed
        user.save()
        user.groups.set([groups[role] for role in spec.roles])
        for code in spec.site_codes:
            SiteMembership.objects.create(user=user, site=sites[code])
        users[spec.username] = user
    return users


def _allocation_list_create(
    *, statistician: User, sites: list[Site], seed: int
) -> AllocationList:
    """Generate and activate the demo's allocation list, as its statistician would.

    Default scheme (``settings.RANDOMIZATION``), every demo site; the list seed is
    derived from the demo seed, so the same ``--seed`` gives the same list.
    """
    material = f"PERFORM demo allocation list|{seed}".encode()
    list_seed = int.from_bytes(hashlib.sha256(material).digest()[:8], "big") >> 2
    draft = randomization_services.list_generate(
        actor=statistician,
        name=ALLOCATION_LIST_NAME,
        seed=list_seed,
        sites=sorted(sites, key=lambda site: site.code),
    )
    return randomization_services.list_activate(
        actor=statistician, allocation_list=draft
    )


def _follow_up_end(
    *, participant: Participant, plan: PlannedParticipant, coordinator: User
) -> None:
    """Move a randomized participant to the planned end-of-follow-up status."""
    with (
        transaction.atomic(),
        services.audit_context(actor=coordinator, reason=plan.end_reason),
    ):
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        services.participant_status_change(
            participant=locked,
            to_status=plan.status,
            actor=coordinator,
            reason=plan.end_reason,
        )


def _participant_create(
    plan: PlannedParticipant,
    *,
    site: Site,
    coordinator: User,
    met_answers: dict[str, bool],
) -> Participant:
    """Screen a planned patient and record the consent decision, if any."""
    with transaction.atomic():
        participant = services.participant_screen(
            actor=coordinator,
            site=site,
            screening_date=plan.screening_date,
            age_at_screening=plan.age,
            year_of_birth=plan.year_of_birth,
            sex=plan.sex,
            fracture_status=plan.fracture_status,
            answers=met_answers | plan.answers,
            screening_notes=plan.screening_notes,
        )
        # Everyone who gets as far as a consent decision was screened eligible.
        expected = S.ELIGIBLE
        if plan.status in {S.SCREENED, S.INELIGIBLE}:
            expected = plan.status
        if participant.status != expected:
            raise DemoSeedError(
                f"{participant.study_id} screened as {participant.status}, expected "
                f"{expected}: the eligibility checklist differs from the demo's."
            )
        obtained_by = coordinator.get_full_name()
        if plan.status == S.DECLINED:
            services.participant_decline_record(
                actor=coordinator,
                participant=participant,
                decision_date=plan.decision_date,
                obtained_by=obtained_by,
                reason=plan.decline_reason,
            )
        elif plan.decision_date is not None:
            services.participant_consent_record(
                actor=coordinator,
                participant=participant,
                decision_date=plan.decision_date,
                form_version=CONSENT_FORM_VERSION,
                obtained_by=obtained_by,
            )
    return participant


def _identity(iterable, **_):
    return iterable


@contextlib.contextmanager
def _allocation_mail_kept_local():
    """Run Celery tasks in-process, quietly, while seeding.

    The allocations are marked notified inside the seed's transaction, so the
    allocation e-mail tasks queued for its commit run here (no broker needed,
    with Redis or without) and find nothing to send: nobody is mailed about
    demo history, and a worker started later sends nothing either. The Celery
    app's own config is switched (settings overrides are not re-read once
    Celery has loaded them). Per-task success lines are not logged.
    """
    from perform.celery import app

    task_log = logging.getLogger("celery.app.trace")
    level, eager = task_log.level, app.conf.task_always_eager
    task_log.setLevel(logging.WARNING)
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        task_log.setLevel(level)


def demo_seed(
    *,
    sites: int = DEFAULT_SITES,
    participants: int = DEFAULT_PARTICIPANTS,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
    progress: Callable[..., Iterable] = _identity,
) -> SeedResult:
    """Build the demo trial on an empty database, all or nothing.

    ``progress`` wraps the participant loops (e.g. ``tqdm``; ``desc`` names each).

    Allocation e-mails: ``participant_randomize`` enqueues ``allocation_notify``
    for after commit, one per allocation; see ``_allocation_mail_kept_local``.
    Called inside an outer transaction, those tasks run when that one commits,
    under whatever settings apply then.
    """
    with _allocation_mail_kept_local():
        return _demo_seed_atomic(
            sites=sites,
            participants=participants,
            seed=seed,
            password=password,
            progress=progress,
        )


@transaction.atomic
def _demo_seed_atomic(
    *,
    sites: int,
    participants: int,
    seed: int,
    password: str,
    progress: Callable[..., Iterable],
) -> SeedResult:
    if not 2 <= sites <= len(SITE_CATALOGUE):
        raise DemoSeedError(f"--sites must be between 2 and {len(SITE_CATALOGUE)}.")
    if participants < 0:
        raise DemoSeedError("--participants cannot be negative.")
    chosen = list(SITE_CATALOGUE[:sites])
    criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    met_answers = {
        c.code: c.kind == EligibilityCriterion.Kind.INCLUSION for c in criteria
    }
    plan = demo_plan(
        sites=chosen,
        participants=participants,
        seed=seed,
        today=timezone.localdate(),
        criterion_codes=set(met_answers),
    )
    specs = demo_users(chosen)
    with services.audit_context(actor=None, reason="Demo data (seed_demo)"):
        site_rows = _sites_create(chosen)
        users = _users_create(specs, sites=site_rows, password=password)
    coordinators = {
        code: users[spec.username]
        for spec in specs
        if roles.SITE_COORDINATOR in spec.roles
        for code in spec.site_codes
    }
    allocation_list = _allocation_list_create(
        statistician=users["statistician"], sites=list(site_rows.values()), seed=seed
    )

    # 1. Screening and consent decisions, in screening order.
    created = [
        _participant_create(
            planned,
            site=site_rows[planned.site_code],
            coordinator=coordinators[planned.site_code],
            met_answers=met_answers,
        )
        for planned in progress(plan, total=len(plan), desc="Screening")
    ]
    # 2. Randomization through the service, in order of consent, so each
    #    stratum's slots are taken in the order real use would take them.
    to_randomize = sorted(
        (
            (planned.decision_date, number, participant)
            for number, (planned, participant) in enumerate(
                zip(plan, created, strict=True)
            )
            if planned.status in RANDOMIZED_OR_LATER
        ),
        key=lambda item: item[:2],
    )
    for _date, _number, participant in progress(
        to_randomize, total=len(to_randomize), desc="Randomizing"
    ):
        randomization_services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    # Demo history is nobody's news: mark the allocations notified in this
    # transaction, so the e-mail tasks queued for commit find nothing to send.
    Slot.objects.filter(participant__isnull=False, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    # 3. Case report forms, entered by the sites; the death, withdrawal and
    #    final-visit forms end follow-up (status changes follow from them).
    arm_by_pk = dict(
        Slot.objects.filter(participant__isnull=False).values_list(
            "participant_id", "arm"
        )
    )
    cases, queries = forms_plan(
        plan=plan,
        arms={i: arm_by_pk[p.pk] for i, p in enumerate(created) if p.pk in arm_by_pk},
        seed=seed,
        today_at={s.code: site_today(s.time_zone) for s in chosen},
        investigator_sites=set(
            next(u for u in specs if u.username == "investigator").site_codes
        ),
    )
    _forms_write(
        cases,
        queries,
        plan=plan,
        participants=created,
        coordinators=coordinators,
        investigator=users["investigator"],
        datamanager=users["datamanager"],
        password=password,
        progress=progress,
    )

    paused = [s for s in chosen if not s.is_active]
    if paused:
        with services.audit_context(
            actor=users["datamanager"], reason="Demo data: recruitment paused"
        ):
            for demo_site in paused:
                site = site_rows[demo_site.code]
                site.is_active = False
                site.save(update_fields=["is_active"])
    counts = Counter(Participant.objects.values_list("status", flat=True))
    return SeedResult(
        sites=list(Site.objects.order_by("activation_date", "code")),
        users=specs,
        status_counts={status: counts.get(status, 0) for status in S.values},
        allocation_list=allocation_list,
        randomized=len(to_randomize),
        forms=form_counts(),
        queries=dict(
            Counter(DataQuery.objects.values_list("status", flat=True)).most_common()
        ),
    )
