"""What the list service tests share: the ``active_list`` fixture's seed and
scheme, a list read back as rows, and the row counts of the list tables."""

from randomization.models import AllocationList, ListEvent, Slot, Stratum

SEED = 20250201  # the seed of the ``active_list`` fixture
SCHEME = {"arms": ["IF", "RER"], "ratio": [1, 1], "block_sizes": [2, 4, 6]}
TOR_IMPENDING = {"site": "TOR", "fracture_status": "impending"}


def slot_rows(allocation_list, key=None):
    slots = Slot.objects.filter(stratum__allocation_list=allocation_list)
    if key:
        slots = slots.filter(stratum__key=key)
    return list(
        slots.order_by("stratum__key", "sequence").values_list(
            "stratum__key", "sequence", "arm", "block_number", "block_size"
        )
    )


def counts():
    return (
        AllocationList.objects.count(),
        Stratum.objects.count(),
        Slot.objects.count(),
        ListEvent.objects.count(),
    )
