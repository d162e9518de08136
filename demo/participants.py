"""Demo participants: who is screened, and what becomes of them.

``demo_plan`` draws, from one ``random.Random(seed)`` and without touching the
database, every screened patient in screening order: site, screening date,
age, sex, fracture status, final status (ineligible, declined, waiting for
consent or randomization, randomized, withdrawn, lost, died, completed),
checklist answers that deviate from "all met", and the consent decision and
end-of-follow-up dates. ``_participant_create`` then screens each one and
records the consent decision through the trial services, and
``_follow_up_end`` moves a participant to the planned end of follow-up when
no form did.
"""

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from demo.common import DemoSeedError, S, _later_date
from demo.sites import DemoSite
from perform import services
from perform.models import Participant, Site, User

DEFAULT_PARTICIPANTS = 240
CONSENT_FORM_VERSION = "2.1 (2025-01-15)"

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
