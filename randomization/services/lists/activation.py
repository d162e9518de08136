"""The active list: activating a draft (its digest frozen) and extending the
active list with whole blocks (an audited, reasoned change with a new digest)."""

from django.db import transaction
from django.utils import timezone

from perform.models import Site, User
from perform.services import audit_context
from randomization import strata
from randomization.exceptions import ListInvalid, ListStateError
from randomization.generator import blocks_generate, stratum_rng
from randomization.models import AllocationList, ListEvent, Stratum
from randomization.services.common import _require
from randomization.services.lists.common import slots_create
from randomization.services.lists.verification import list_digest_compute


@transaction.atomic
def list_activate(*, actor: User, allocation_list: AllocationList) -> AllocationList:
    """Freeze a draft list: record its digest; it is the list randomization uses."""
    _require(actor, "randomization.manage_lists", "Only statisticians activate lists.")
    locked = AllocationList.objects.select_for_update().get(pk=allocation_list.pk)
    if locked.status != AllocationList.Status.DRAFT:
        raise ListStateError(
            f"“{locked.name}” is {locked.get_status_display().lower()}: only a draft "
            "list can be activated, and only once."
        )
    if AllocationList.objects.filter(status=AllocationList.Status.ACTIVE).exists():
        raise ListStateError(
            "Another list is active. Extend it for new sites rather than replacing it."
        )
    with audit_context(actor=actor):
        locked.digest = list_digest_compute(locked)
        locked.status = AllocationList.Status.ACTIVE
        locked.activated_at = timezone.now()
        locked.activated_by = actor
        locked.save(update_fields=["digest", "status", "activated_at", "activated_by"])
        ListEvent.objects.create(
            allocation_list=locked,
            action=ListEvent.Action.ACTIVATED,
            digest=locked.digest,
            by=actor,
        )
    return locked


@transaction.atomic
def list_extend(
    *,
    actor: User,
    allocation_list: AllocationList,
    levels: dict[str, str],
    min_slots: int,
    reason: str,
) -> Stratum:
    """Append whole blocks to one stratum (creating it for a new site) of a
    generated list, and record the new digest with the reason.

    The appended blocks come from the stratum's generator for this extension
    number, so they are reproducible from the seed and the event history.
    """
    _require(actor, "randomization.manage_lists", "Only statisticians extend lists.")
    if not reason.strip():
        raise ListInvalid(["Give the reason for adding slots."])
    if min_slots < 1:
        raise ListInvalid(["Add at least one slot."])
    locked = AllocationList.objects.select_for_update().get(pk=allocation_list.pk)
    if locked.status != AllocationList.Status.ACTIVE:
        raise ListStateError(
            "Only the active list is extended; edit a draft by generating it again."
        )
    if locked.seed is None:
        raise ListStateError(
            "An imported list cannot be extended in the platform: import the extra "
            "rows into a new list version instead."
        )
    try:
        key = strata.stratum_key(levels, locked.factors)
        for factor, level in levels.items():
            if level not in strata.FACTORS[factor].levels(None):
                raise ValueError(f"Unknown {factor} '{level}'.")
    except (KeyError, ValueError) as error:
        raise ListInvalid([f"Not a stratum of this list: {error}"]) from error
    with audit_context(actor=actor, reason=reason.strip()):
        stratum, _ = Stratum.objects.get_or_create(
            allocation_list=locked,
            key=key,
            defaults={
                "levels": levels,
                "site": Site.objects.filter(code=levels.get("site")).first(),
            },
        )
        stratum = Stratum.objects.select_for_update().get(pk=stratum.pk)
        last = stratum.slots.order_by("-sequence").first()
        extension = (
            ListEvent.objects.filter(
                allocation_list=locked,
                action=ListEvent.Action.EXTENDED,
                detail__stratum=key,
            ).count()
            + 1
        )
        specs = blocks_generate(
            rng=stratum_rng(locked.seed, key, extension),
            arms=locked.arm_codes,
            ratio=locked.ratio,
            block_sizes=locked.block_sizes,
            min_length=min_slots,
            first_sequence=(last.sequence + 1) if last else 1,
            first_block=(last.block_number + 1) if last else 1,
        )
        slots_create(stratum=stratum, specs=specs)
        previous = locked.digest
        locked.digest = list_digest_compute(locked)
        locked.save(update_fields=["digest"])
        ListEvent.objects.create(
            allocation_list=locked,
            action=ListEvent.Action.EXTENDED,
            digest=locked.digest,
            reason=reason.strip(),
            by=actor,
            detail={
                "stratum": key,
                "extension": extension,
                "slots_added": len(specs),
                "previous_digest": previous,
            },
        )
    return stratum
