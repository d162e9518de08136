"""The demo's allocation list and randomization.

Seeds the active allocation list (generated and activated by the demo
statistician, its seed derived from the demo seed) and randomizes, as the demo
randomizer and through ``participant_randomize``, every participant planned as
randomized or later, in order of consent. The allocation e-mails of this
history are never written to the outbox, let alone sent: Celery tasks run
in-process while seeding and find the allocations already marked notified.
"""

import contextlib
import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.utils import timezone

from demo.participants import RANDOMIZED_OR_LATER, PlannedParticipant
from perform.models import Participant, Site, User
from randomization import services as randomization_services
from randomization.models import AllocationList, Slot

ALLOCATION_LIST_NAME = "PERFORM allocation list (demo)"


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


def _participants_randomize(
    plan: list[PlannedParticipant],
    created: list[Participant],
    *,
    randomizer: User,
    progress: Callable[..., Iterable],
) -> int:
    """Randomize the planned participants; return how many were randomized."""
    # Randomization through the service, in order of consent, so each stratum's
    # slots are taken in the order real use would take them.
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
    for decision_date, _number, participant in progress(
        to_randomize, total=len(to_randomize), desc="Randomizing"
    ):
        randomization_services.participant_randomize(
            actor=randomizer, participant=participant
        )
        # The demo's history is backdated: the allocation is dated on the
        # planned consent day (noon at the site, never later than now), so the
        # forms that follow keep PROTOCOL §7's rules, which ``form_save``
        # enforces (surgery, and death, not before randomization).
        noon = datetime.datetime.combine(
            decision_date, datetime.time(12), ZoneInfo(participant.site.time_zone)
        )
        Slot.objects.filter(participant=participant).update(
            allocated_at=min(noon, timezone.now())
        )
    # Demo history is nobody's news: mark the allocations notified in this
    # transaction, so the e-mail tasks queued for commit write no outbox row.
    Slot.objects.filter(participant__isnull=False, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    return len(to_randomize)


@contextlib.contextmanager
def _allocation_mail_kept_local():
    """Run Celery tasks in-process, quietly, while seeding.

    The allocations are marked notified inside the seed's transaction, so the
    allocation e-mail tasks queued for its commit run here (no broker needed,
    with Redis or without) and write nothing to the outbox; the sends queued
    for the seed's other outbox rows, cancelled by then, run here too and skip
    them. Nobody is mailed about demo history, and a worker started later
    sends nothing either. The Celery app's own config is switched (settings
    overrides are not re-read once Celery has loaded them). Per-task success
    lines are not logged.
    """
    from celery import current_app as app

    task_log = logging.getLogger("celery.app.trace")
    level, eager = task_log.level, app.conf.task_always_eager
    task_log.setLevel(logging.WARNING)
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        task_log.setLevel(level)
