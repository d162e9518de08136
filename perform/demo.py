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
4. the coordinators record the end of follow-up (withdrawn, lost, died, completed).

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
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

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
        decision_date = decline_reason = end_reason = None
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
            )
        )
    return plan


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
        user.set_password(password)
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
    # 3. End of follow-up, reported by the site.
    for planned, participant in zip(plan, created, strict=True):
        if planned.status in END_REASONS:
            _follow_up_end(
                participant=participant,
                plan=planned,
                coordinator=coordinators[planned.site_code],
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
    )
