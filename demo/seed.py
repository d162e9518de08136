"""``demo_seed``: the whole demo trial on an empty database, all or nothing.

Plans the participants, then seeds, in one transaction and in this order: the
sites and users (``sites``), the allocation list (``allocation``), screening
and consent (``participants``), randomization (``allocation``), the case report
forms and queries (``forms``), and the recruitment pauses. Returns what the
command's summary prints.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from crf.models import DataQuery
from crf.schedule.visits import site_today
from demo.allocation import (
    _allocation_list_create,
    _allocation_mail_kept_local,
    _participants_randomize,
)
from demo.common import DemoSeedError, S
from demo.forms import _forms_write, form_counts, forms_plan
from demo.participants import (
    DEFAULT_PARTICIPANTS,
    _participant_create,
    demo_plan,
)
from demo.sites import (
    DEFAULT_PASSWORD,
    DEFAULT_SITES,
    SITE_CATALOGUE,
    DemoUser,
    _sites_create,
    _users_create,
    demo_users,
)
from infrastructure.models import OutboundEmail
from perform import roles, services
from perform.models import EligibilityCriterion, Participant, Site
from randomization.models import AllocationList, Slot

DEFAULT_SEED = 2025


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


def _identity(iterable, **_):
    return iterable


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
        # The data manager is the demo's Methods Centre safety contact.
        users["datamanager"].safety_contact = True
        users["datamanager"].save(update_fields=["safety_contact"])
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
    # 2. Randomization through the service, in order of consent; the allocations
    #    are marked notified, so no e-mail goes out about demo history.
    randomized = _participants_randomize(
        plan, created, randomizer=users["randomizer"], progress=progress
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

    # 4. The safety alerts of those events are demo history too: recorded
    #    (they show on the participant pages), but never sent to anyone. Every
    #    outbox row still pending is cancelled (the allocations wrote none).
    OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.CANCELLED,
        last_error="Demo history: not sent.",
        next_attempt_at=None,
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
        randomized=randomized,
        forms=form_counts(),
        queries=dict(
            Counter(DataQuery.objects.values_list("status", flat=True)).most_common()
        ),
    )
