"""Demo participants: who is screened, and what becomes of them.

``demo_plan`` draws, from one ``random.Random(seed)`` and without touching the
database, every screened patient in screening order: site, screening date,
age, sex, fracture status, final status (ineligible, declined, waiting for
consent or randomization, randomized, withdrawn, lost, died, completed),
checklist answers that deviate from "all met", and the consent decision and
end-of-follow-up dates. ``_participant_create`` then screens each one and
records the consent decision through the trial services. A randomized
patient's dates and end of follow-up are their course (``demo.course``).
"""

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field

from demo.common import DemoSeedError, S, _later_date
from demo.course import Course, course_draw, course_forced
from demo.recruitment import _pause_date, _screening_days
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
# The statuses a screening decides; how randomized participants' follow-up
# ends is their course's (``demo.course``).
SCREENING_OUTCOMES = (
    S.SCREENED, S.INELIGIBLE, S.ELIGIBLE, S.DECLINED, S.CONSENTED, S.RANDOMIZED,
)  # fmt: skip
# Earliest day (after screening) at which randomization is plausible.
MIN_DAYS_RANDOMIZED = 2


def _status_weights(days_since_screening: int) -> dict[str, float]:
    """How likely each screening outcome is for a patient screened that long ago."""
    d = days_since_screening
    recent = d < 21
    return {
        S.SCREENED: 12 if recent else 0.4,
        S.INELIGIBLE: 40,
        S.ELIGIBLE: 25 if d < 30 else 0,
        S.DECLINED: 9,
        # Consented, surgery booked, not yet randomized: the randomizer's queue.
        S.CONSENTED: 25 if d < 30 else 0,
        S.RANDOMIZED: 73 if d >= MIN_DAYS_RANDOMIZED else 0,
    }


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
    course: Course | None = None  # randomized or later: dates and end of follow-up

    @property
    def end_date(self) -> datetime.date | None:
        """Death, withdrawal, last contact or final visit (None: followed)."""
        return self.course.end_date if self.course else None


def _cover_every_status(statuses: list[str], days: list[int], rng) -> None:
    """Make every screening outcome occur (when there are enough patients),
    in place."""
    for status in SCREENING_OUTCOMES:
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


def _courses(statuses, decisions, today, rng) -> dict[int, Course]:
    """Each randomized patient's course; every end of follow-up occurs once at
    least when there are enough randomized patients (forced on the earliest)."""
    courses = {
        i: course_draw(decisions[i], today, rng)
        for i, status in enumerate(statuses)
        if status == S.RANDOMIZED
    }
    if len(courses) < 2 * len(END_REASONS):
        return courses
    for end in END_REASONS:
        if any(c.status == end for c in courses.values()):
            continue
        counts = Counter(c.status for c in courses.values())
        for i in sorted(courses, key=lambda i: courses[i].randomization_date):
            if counts[courses[i].status] > 1 and (
                forced := course_forced(courses[i], end, today, rng)
            ):
                courses[i] = forced
                break
    return courses


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
    # time recruiting.
    codes = [s.code for s in open_sites][:participants]
    weights = [
        s.size * ((_pause_date(s, today) or today) - s.activation_date).days
        for s in open_sites
    ]
    codes += rng.choices(
        [s.code for s in open_sites], weights=weights, k=participants - len(codes)
    )
    slots = _screening_days(sites, codes, today, rng)

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
    decisions = {
        i: _later_date(day, today, rng, 0, 10)
        for i, ((day, _, _), status) in enumerate(zip(slots, statuses, strict=True))
        if status not in {S.SCREENED, S.INELIGIBLE, S.ELIGIBLE}
    }
    courses = _courses(statuses, decisions, today, rng)

    plan = []
    for i, ((day, _, code), status) in enumerate(zip(slots, statuses, strict=True)):
        age = max(28, min(93, round(rng.gauss(66, 11))))
        answers, notes = _answers_for(status, criterion_codes=criterion_codes, rng=rng)
        course = courses.get(i)
        end_reason = ""
        if course is not None:
            status = course.status
            if status in END_REASONS:
                end_reason = rng.choice(END_REASONS[status]).format(
                    date=course.end_date
                )
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
                decision_date=decisions.get(i),
                decline_reason=rng.choice(DECLINE_REASONS)
                if status == S.DECLINED
                else "",
                end_reason=end_reason,
                course=course,
            )
        )
    return plan


def _participant_screen(
    plan: PlannedParticipant,
    *,
    site: Site,
    coordinator: User,
    met_answers: dict[str, bool],
) -> Participant:
    """Screen a planned patient, as the site's coordinator."""
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
    return participant


def _participant_decide(
    plan: PlannedParticipant, participant: Participant, *, coordinator: User
) -> None:
    """Record the planned patient's consent decision, as the coordinator."""
    obtained_by = coordinator.get_full_name()
    if plan.status == S.DECLINED:
        services.participant_decline_record(
            actor=coordinator,
            participant=participant,
            decision_date=plan.decision_date,
            obtained_by=obtained_by,
            reason=plan.decline_reason,
        )
    else:
        services.participant_consent_record(
            actor=coordinator,
            participant=participant,
            decision_date=plan.decision_date,
            form_version=CONSENT_FORM_VERSION,
            obtained_by=obtained_by,
        )
