"""Shared by the list services: the scheme a new list takes (with the
configured defaults) and the writing of a stratum's slots."""

from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from perform.models import Site
from randomization import strata
from randomization.exceptions import ListInvalid
from randomization.generator import SchemeInvalid, SlotSpec, scheme_validate
from randomization.models import Slot, Stratum


def _scheme_defaults(arms, ratio, block_sizes, factors, slots_per_stratum):
    config = settings.RANDOMIZATION
    arms = [list(a) for a in (arms or config["ARMS"])]
    ratio = list(ratio or config["RATIO"])
    block_sizes = sorted(block_sizes or config["BLOCK_SIZES"])
    factors = list(factors or config["STRATIFICATION_FACTORS"])
    slots = slots_per_stratum or config["SLOTS_PER_STRATUM"]
    try:
        scheme_validate(arms=[a[0] for a in arms], ratio=ratio, block_sizes=block_sizes)
        strata.factors_validate(factors)
    except (SchemeInvalid, ValueError) as error:
        raise ListInvalid([str(error)]) from error
    if slots < 1:
        raise ListInvalid(["The list length per stratum must be at least 1."])
    largest = _column_max("block_size")
    if max(block_sizes) > largest:
        raise ListInvalid([f"Block sizes cannot be larger than {largest}."])
    return arms, ratio, block_sizes, factors, slots


def _column_max(name: str) -> int:
    """The largest number the slot table's integer column ``name`` holds: a
    larger one would only fail when the list is written."""
    field = Slot._meta.get_field(name)
    return connection.ops.integer_field_range(field.get_internal_type())[1]


def _site_for(levels: dict, sites_by_code: dict) -> Site | None:
    return sites_by_code.get(levels.get("site"))


def slots_create(*, stratum: Stratum, specs: Iterable[SlotSpec]) -> list[Slot]:
    """Write ``specs`` as unused slots of ``stratum``, in one bulk insert.

    The one place a list's slots are written (generation, import, extension);
    the caller holds the transaction and records the list's new digest.
    """
    return Slot.objects.bulk_create(
        Slot(
            stratum=stratum,
            sequence=spec.sequence,
            arm=spec.arm,
            block_number=spec.block_number,
            block_size=spec.block_size,
        )
        for spec in specs
    )
