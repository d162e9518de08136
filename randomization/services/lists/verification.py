"""A list's digest: compute it from what the database holds, verify it against
the recorded one, and keep each verification in the list's history."""

from dataclasses import dataclass

from django.db import transaction

from perform.models import User
from perform.services import audit_context
from randomization.generator import list_digest
from randomization.models import AllocationList, ListEvent, Slot
from randomization.services.common import _require


def list_parameters(allocation_list: AllocationList) -> dict:
    """The parameters that, with the slots, define a list (and its digest)."""
    return {
        # Codes and labels: relabelling an arm changes what sites are told.
        "arms": [list(arm) for arm in allocation_list.arms],
        "ratio": list(allocation_list.ratio),
        "block_sizes": list(allocation_list.block_sizes),
        "factors": list(allocation_list.factors),
        "slots_per_stratum": allocation_list.slots_per_stratum,
        "source": allocation_list.source,
        "seed": allocation_list.seed,
    }


def list_digest_compute(allocation_list: AllocationList) -> str:
    """Recompute the SHA-256 of a list from what the database holds now."""
    slots = Slot.objects.filter(stratum__allocation_list=allocation_list).values_list(
        "stratum__key", "sequence", "arm", "block_number", "block_size"
    )
    return list_digest(
        parameters=list_parameters(allocation_list), slots=slots.iterator(2000)
    )


@dataclass(frozen=True)
class VerifyResult:
    matches: bool
    recorded: str
    computed: str


def list_verify(*, allocation_list: AllocationList) -> VerifyResult:
    """Recompute the digest from the database (a fresh read, never the possibly
    stale object passed in) and compare it with the recorded one."""
    allocation_list = AllocationList.objects.get(pk=allocation_list.pk)
    computed = list_digest_compute(allocation_list)
    recorded = allocation_list.digest
    return VerifyResult(
        matches=computed == recorded, recorded=recorded, computed=computed
    )


@transaction.atomic
def list_verify_record(*, actor: User, allocation_list: AllocationList) -> VerifyResult:
    """Verify a list and keep the result in its event history."""
    _require(actor, "randomization.manage_lists", "Only statisticians verify lists.")
    result = list_verify(allocation_list=allocation_list)
    with audit_context(actor=actor):
        ListEvent.objects.create(
            allocation_list=allocation_list,
            action=ListEvent.Action.VERIFIED,
            digest=result.computed,
            detail={"matches": result.matches, "recorded": result.recorded},
            by=actor,
        )
    return result
