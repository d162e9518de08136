"""Generating a draft list from a seed: every stratum's permuted blocks, each
reproducible from (seed, stratum, parameters)."""

import secrets
from collections.abc import Sequence

from django.db import transaction

from perform.models import Site, User
from perform.services import audit_context
from randomization import strata
from randomization.generator import stratum_generate
from randomization.models import AllocationList, ListEvent, Stratum
from randomization.services.common import _require
from randomization.services.lists.common import (
    _scheme_defaults,
    _site_for,
    slots_create,
)
from randomization.services.lists.verification import list_digest_compute


@transaction.atomic
def list_generate(
    *,
    actor: User,
    name: str,
    seed: int | None = None,
    arms: Sequence[Sequence[str]] | None = None,
    ratio: Sequence[int] | None = None,
    block_sizes: Sequence[int] | None = None,
    factors: Sequence[str] | None = None,
    slots_per_stratum: int | None = None,
    sites: Sequence[Site] | None = None,
) -> AllocationList:
    """Generate a draft list for every stratum from ``seed`` (a fresh random
    seed, recorded, when none is given)."""
    _require(actor, "randomization.manage_lists", "Only statisticians generate lists.")
    arms, ratio, block_sizes, factors, length = _scheme_defaults(
        arms, ratio, block_sizes, factors, slots_per_stratum
    )
    seed = secrets.randbits(62) if seed is None else int(seed)
    sites = list(sites) if sites is not None else list(Site.objects.order_by("code"))
    sites_by_code = {s.code: s for s in sites}
    with audit_context(actor=actor):
        allocation_list = AllocationList.objects.create(
            name=name,
            source=AllocationList.Source.GENERATED,
            arms=arms,
            ratio=ratio,
            block_sizes=block_sizes,
            factors=factors,
            slots_per_stratum=length,
            seed=seed,
            created_by=actor,
        )
        arm_codes = [a[0] for a in arms]
        for levels in strata.strata_levels(factors, sites=sites):
            key = strata.stratum_key(levels, factors)
            stratum = Stratum.objects.create(
                allocation_list=allocation_list,
                key=key,
                levels=levels,
                site=_site_for(levels, sites_by_code),
            )
            slots_create(
                stratum=stratum,
                specs=stratum_generate(
                    seed=seed,
                    stratum_key=key,
                    arms=arm_codes,
                    ratio=ratio,
                    block_sizes=block_sizes,
                    length=length,
                ),
            )
        ListEvent.objects.create(
            allocation_list=allocation_list,
            action=ListEvent.Action.GENERATED,
            digest=list_digest_compute(allocation_list),
            by=actor,
        )
    return allocation_list
