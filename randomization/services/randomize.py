"""The one randomize action.

``participant_randomize`` is the only way an arm is given to a participant
(web page, API and demo all call it). In one transaction it:

1. locks the participant row (through the site-scoped selector) and returns
   the existing allocation if there is one: a retried request allocates
   nothing new;
2. checks consent, eligibility and the stratification data
   (``randomization_blockers``; eligibility is ``perform.eligibility``'s
   verdict, see "Eligibility" below);
3. locks the stratum row, then takes the unused slot with the lowest sequence
   (unique constraints on slot.participant and (stratum, sequence) are the
   database's backstop);
4. records who and when, moves the participant to *randomized*, and enqueues
   the allocation e-mail for after commit.

Locks are always taken participant first, stratum second, so concurrent
requests cannot deadlock; requests in different strata never wait for each
other.

Eligibility. The rule has one owner, ``perform.eligibility.eligibility_evaluate``,
and this path calls it on every request, the successful one included.
Until issue "One house" the state query also judged the answers in SQL (a
count of active criteria unanswered or not met) and a second age check here
let the successful path skip the function: a second copy of the rule in a
second language, which only an equivalence test over every combination of
answers could have held equal (3^12 answer sets x 3 ages for the seeded
checklist: about 1.6 million cases). Decision: the SQL copy is removed. The
state query still answers everything in one round trip after the participant
row lock, but of the checklist it only *reads* the active criteria with this
participant's answers; the function judges them, and its verdict feeds
``randomization_blockers`` on both the successful and the refusal path.
Measured cost (the old and new ``_randomize_atomic`` interleaved in one
process, 1,500 calls each, inside a rolled-back savepoint): about +0.2 ms on a
median of 11.6 ms, of which about 40 µs is the JSON in the state query and
about 50 µs the evaluation; the full call of ``benchmarks/randomize.py``
(commit and enqueue included, 12-28 ms) varies far more than that from run
to run. Row locks, their order and idempotency are unchanged.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from perform.eligibility import (
    EligibilityResult,
    eligibility_evaluate,
    participant_eligibility,
)
from perform.models import (
    Participant,
    ParticipantStatus,
    User,
)
from perform.selectors import participants_for
from perform.services import audit_context, participant_status_change
from randomization import strata
from randomization.exceptions import (
    NotRandomizable,
    RandomizationClosed,
    StratumExhausted,
)
from randomization.models import AllocationList, Slot, Stratum
from randomization.services.common import _require
from randomization.services.emails import stratum_exhaustion_record

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Randomizing
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomizationResult:
    slot: Slot
    created: bool


def randomization_blockers(
    participant: Participant,
    factors: Sequence[str],
    *,
    eligibility: EligibilityResult | None = None,
) -> list[str]:
    """Why ``participant`` cannot be randomized now (empty list: it can).

    ``eligibility`` is ``perform.eligibility``'s verdict on the participant's
    checklist, evaluated here when not given.
    """
    reasons = []
    if participant.status != ParticipantStatus.CONSENTED:
        reasons.append(
            f"status is {participant.get_status_display().lower()}, not consented"
        )
    has_consent = getattr(participant, "has_given_consent", None)
    if has_consent is None:  # not annotated by the caller's query
        has_consent = participant.consents.filter(decision="given").exists()
    if not has_consent:
        reasons.append("no consent is recorded")
    if eligibility is None:
        eligibility = participant_eligibility(participant)
    reasons.extend(f"eligibility: {reason}" for reason in eligibility.unmet)
    reasons.extend(f"eligibility not recorded: {text}" for text in eligibility.missing)
    _levels, missing = strata.participant_levels(participant, factors)
    reasons.extend(f"stratification data missing: {label}" for label in missing)
    return reasons


def _exhaustion_alert(stratum: Stratum, study_id: str) -> None:
    """Have a worker log the exhaustion and write the statisticians' e-mail to
    the outbox. If the broker is down, do it here instead: the outbox sends the
    row once the broker is back. Errors are logged, never raised: the
    randomizer must still get the clear exhaustion error."""
    from randomization.tasks import stratum_exhausted_alert

    try:
        stratum_exhausted_alert.delay(stratum_id=stratum.pk, study_id=study_id)
        return
    except Exception:  # noqa: BLE001 - any broker error; logged with traceback
        logger.exception(
            "Could not queue the exhaustion alert for stratum %s; recording it "
            "in the request",
            stratum.key,
        )
    try:
        stratum_exhaustion_record(stratum_id=stratum.pk, study_id=study_id)
    except Exception:  # noqa: BLE001 - logged; the refusal still stands
        logger.exception("Could not record the exhaustion of stratum %s", stratum.key)


def participant_randomize(
    *, actor: User, participant: Participant
) -> RandomizationResult:
    """Allocate ``participant`` the next slot of its stratum (see module doc).

    Raises ``NotRandomizable`` (with reasons), ``RandomizationClosed`` or
    ``StratumExhausted`` (after alerting the statisticians); nothing is
    allocated in any of these cases.
    """
    _require(
        actor,
        "randomization.randomize_participant",
        "You may not randomize participants.",
    )
    try:
        return _randomize_atomic(actor=actor, participant=participant)
    except StratumExhausted as error:
        # Outside the rolled-back transaction, so the alert is really sent.
        stratum = Stratum.objects.get(
            allocation_list__status=AllocationList.Status.ACTIVE, key=error.stratum
        )
        _exhaustion_alert(stratum, participant.study_id)
        raise


# Everything the successful path needs, read in one statement after the
# participant lock: an existing allocation, a consent on record, the active
# checklist with this participant's answers (NULL when unanswered; read
# only: perform.eligibility judges them), and the active list.
_STATE_SQL = """
SELECT
  (SELECT s.id FROM randomization_slot s WHERE s.participant_id = %(participant)s
   LIMIT 1),
  EXISTS (SELECT 1 FROM perform_consentrecord c
          WHERE c.participant_id = %(participant)s AND c.decision = 'given'),
  (SELECT json_agg(json_build_array(k.code, k.kind, k.text, a.answer)
                   ORDER BY k.kind DESC, k."order", k.code)
   FROM perform_eligibilitycriterion k
   LEFT JOIN perform_eligibilityanswer a
     ON a.criterion_id = k.id AND a.participant_id = %(participant)s
   WHERE k.is_active),
  l.id,
  l.factors
FROM (SELECT 1) AS one
LEFT JOIN randomization_allocationlist l ON l.status = 'active'
"""
_STRATUM_LOCK_SQL = """
SELECT id FROM randomization_stratum
WHERE allocation_list_id = %s AND key = %s
FOR UPDATE
"""
# participant_id IS NULL is repeated in the outer WHERE as a second guard.
_SLOT_TAKE_SQL = """
UPDATE randomization_slot
SET participant_id = %s, allocated_at = %s, allocated_by_id = %s
WHERE id = (SELECT id FROM randomization_slot
            WHERE stratum_id = %s AND participant_id IS NULL
            ORDER BY sequence LIMIT 1)
  AND participant_id IS NULL
RETURNING id, sequence, arm, block_number, block_size
"""


class _ChecklistLine(NamedTuple):
    """An active criterion as the state query reads it (``perform.eligibility``
    takes it as it takes the model, which costs more to build)."""

    code: str
    kind: str
    text: str
    is_active: bool = True


@transaction.atomic
def _randomize_atomic(*, actor: User, participant: Participant) -> RandomizationResult:
    locked = (
        participants_for(actor)
        .select_for_update(of=("self",))
        .order_by()
        .get(pk=participant.pk)
    )
    # A new statement *after* the lock: under READ COMMITTED it sees what a
    # concurrent request for the same participant committed while we waited
    # (subqueries inside the locking statement would use the older snapshot).
    # One round trip answers everything the usual, successful path needs.
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, {"participant": locked.pk})
        slot_id, has_consent, checklist, list_id, factors = cursor.fetchone()
    if isinstance(factors, str):  # Django leaves jsonb undecoded on raw cursors
        factors = json.loads(factors)
    if slot_id is not None:
        existing = Slot.objects.select_related("stratum").get(pk=slot_id)
        return RandomizationResult(slot=existing, created=False)
    if list_id is None:
        raise RandomizationClosed(
            "Randomization is not open: no allocation list is active."
        )
    # [code, kind, text, answer] per active criterion (json, unlike jsonb,
    # arrives decoded); NULL when no criterion is active.
    checklist = checklist or []
    eligibility = eligibility_evaluate(
        criteria=[_ChecklistLine(*line[:3]) for line in checklist],
        answers={line[0]: line[3] for line in checklist},
        age=locked.age_at_screening,
    )
    locked.has_given_consent = has_consent
    reasons = randomization_blockers(locked, factors, eligibility=eligibility)
    if reasons:
        raise NotRandomizable(reasons)
    levels, _missing = strata.participant_levels(locked, factors)
    key = strata.stratum_key(levels, factors)
    with audit_context(actor=actor), connection.cursor() as cursor:
        # Lock the stratum first, in its own statement: the slot UPDATE below
        # then runs on a snapshot taken after every earlier allocation in this
        # stratum committed, so it can never pick a slot already taken.
        cursor.execute(_STRATUM_LOCK_SQL, [list_id, key])
        row = cursor.fetchone()
        if row is None:
            raise RandomizationClosed(
                f"The active list has no stratum {key}; the statisticians must add "
                "it before this participant can be randomized.",
                stratum=key,
            )
        stratum_id = row[0]
        now = timezone.now()  # under the lock: allocation times follow sequence
        cursor.execute(_SLOT_TAKE_SQL, [locked.pk, now, actor.pk, stratum_id])
        taken = cursor.fetchone()
        if taken is None:
            raise StratumExhausted(key)
        participant_status_change(
            participant=locked,
            to_status=ParticipantStatus.RANDOMIZED,
            actor=actor,
            reason=f"Randomized in stratum {strata.stratum_label(levels)}",
            at=now,
        )
    from randomization.tasks import allocation_notify

    slot_id, sequence, arm, block_number, block_size = taken
    # robust: a broker outage must not turn a committed allocation into an error
    # page; allocation_notify_pending re-queues un-notified allocations.
    transaction.on_commit(lambda: allocation_notify.delay(slot_id=slot_id), robust=True)
    stratum = Stratum(pk=stratum_id, allocation_list_id=list_id, key=key, levels=levels)
    slot = Slot(
        pk=slot_id,
        stratum=stratum,
        sequence=sequence,
        arm=arm,
        block_number=block_number,
        block_size=block_size,
        participant=locked,
        allocated_at=now,
        allocated_by=actor,
    )
    slot._state.adding = False
    slot._state.db = stratum._state.db = "default"
    stratum._state.adding = False
    return RandomizationResult(slot=slot, created=True)
