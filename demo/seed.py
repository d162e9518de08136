"""``demo_seed``: the whole demo trial on an empty database, all or nothing.

Plans the participants and their forms (no database), then, in one
transaction: the trial's set-up (sites, users, the allocation list) a month
before the first site opens, and the trial's history replayed day by day up
to the demo's today (``history``): screening, consent, randomization, forms,
queries, the nightly checks and reminders, and the recruitment pauses.
Returns what the command's summary prints.
"""

import datetime
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from crf.models import DataQuery
from crf.queries.automatic import queries_autocheck
from demo import clock, epro, history
from demo.allocation import _allocation_list_create, _allocation_mail_kept_local
from demo.common import DemoSeedError, S, _days
from demo.forms import _derived_seed, form_counts, forms_plan
from demo.participants import DEFAULT_PARTICIPANTS, demo_plan
from demo.recruitment import _pause_date
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
from infrastructure.outbox import CREDENTIAL_ERASED
from perform import roles, services
from perform.models import EligibilityCriterion, Participant, Site
from randomization.models import AllocationList

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
    today: datetime.date | None = None


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
    today: datetime.date | None = None,
    progress: Callable[..., Iterable] = _identity,
) -> SeedResult:
    """Build the demo trial on an empty database, all or nothing.

    ``today`` (default: today) is the demo's present: the trial's history
    runs from its set-up to the day before, each action at its simulated
    moment (``demo.history``, ``demo.clock``). ``progress`` wraps the replay
    (e.g. ``tqdm``).

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
            today=today,
            progress=progress,
        )


@transaction.atomic
def _demo_seed_atomic(
    *,
    sites: int,
    participants: int,
    seed: int,
    password: str,
    today: datetime.date | None,
    progress: Callable[..., Iterable],
) -> SeedResult:
    if not 2 <= sites <= len(SITE_CATALOGUE):
        raise DemoSeedError(f"--sites must be between 2 and {len(SITE_CATALOGUE)}.")
    if participants < 0:
        raise DemoSeedError("--participants cannot be negative.")
    real_today = timezone.localdate()
    today = today or real_today
    if today > real_today:
        raise DemoSeedError("--today cannot be in the future.")
    if not clock.audit_clock_honoured():
        raise DemoSeedError(
            "seed_demo writes the trial's history at its simulated moments, which "
            "only the database owner role may stamp on the audit trail: run it "
            "as the owner (make seed and make run do)."
        )
    # The demo's data stop at the end of the day before ``today``: that day is
    # over at every site, and nothing is written after the real present.
    now = min(timezone.now(), history.utc_moment(today, 0))
    last_day = _days(today, -1)
    chosen = list(SITE_CATALOGUE[:sites])
    criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    met_answers = {
        c.code: c.kind == EligibilityCriterion.Kind.INCLUSION for c in criteria
    }
    plan = demo_plan(
        sites=chosen,
        participants=participants,
        seed=seed,
        today=last_day,
        criterion_codes=set(met_answers),
    )
    specs = demo_users(chosen)
    first_open = min(s.activation_date for s in chosen)
    # The trial's set-up, a month before its first site opens.
    with (
        clock.at(history.utc_moment(_days(first_open, -30), 14)),
        services.audit_context(actor=None, reason="Demo data (seed_demo)"),
    ):
        site_rows = _sites_create(chosen)
        users = _users_create(specs, sites=site_rows, password=password)
        # The data manager is the demo's Methods Centre safety contact.
        users["datamanager"].safety_contact = True
        users["datamanager"].save(update_fields=["safety_contact"])
    with clock.at(history.utc_moment(_days(first_open, -27), 15)):
        allocation_list = _allocation_list_create(
            statistician=users["statistician"],
            sites=list(site_rows.values()),
            seed=seed,
        )
    coordinators = {
        code: users[spec.username]
        for spec in specs
        if roles.SITE_COORDINATOR in spec.roles
        for code in spec.site_codes
    }
    cases, queries = forms_plan(
        plan=plan,
        seed=seed,
        today_at={s.code: last_day for s in chosen},
        investigator_sites=set(
            next(u for u in specs if u.username == "investigator").site_codes
        ),
    )
    trial = history.Trial(
        plan=plan,
        sites=site_rows,
        coordinators=coordinators,
        users=users,
        met_answers=met_answers,
        password=password,
    )
    timeline = history.History(now)
    history.participants_add(timeline, trial)
    history.forms_add(timeline, trial, cases)
    history.queries_add(timeline, trial, queries)
    history.sweeps_add(timeline, first_open, last_day)
    contacts, responses = epro.epro_plan(
        plan, cases, random.Random(_derived_seed("epro", seed))
    )
    epro.contacts_add(timeline, trial, contacts)
    epro.responses_add(timeline, trial, responses)
    epro.sweeps_add(timeline, first_open, last_day)
    history.pauses_add(
        timeline,
        trial,
        {s.code: day for s in chosen if (day := _pause_date(s, last_day))},
    )
    timeline.replay(progress)

    # The e-mails of that history (safety alerts, reminders) are demo history
    # too: recorded with their moments (they show on the e-mail log and the
    # participant pages), but never sent to anyone.
    with clock.at(now):
        # The checks each save queued for commit, run now at the demo's
        # present (at commit they find nothing left to change).
        queries_autocheck()
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).update(
            status=OutboundEmail.Status.CANCELLED,
            last_error="Demo history: not sent.",
            next_attempt_at=None,
        )
        # Survey links in the messages never sent are erased, as a sent
        # message's are (``infrastructure.outbox``).
        OutboundEmail.objects.filter(holds_credential=True).update(
            body_text=CREDENTIAL_ERASED, body_html=""
        )
    counts = Counter(Participant.objects.values_list("status", flat=True))
    return SeedResult(
        sites=list(Site.objects.order_by("activation_date", "code")),
        users=specs,
        status_counts={status: counts.get(status, 0) for status in S.values},
        allocation_list=allocation_list,
        randomized=len(trial.arms),
        forms=form_counts(),
        queries=dict(
            Counter(DataQuery.objects.values_list("status", flat=True)).most_common()
        ),
        today=today,
    )
