"""Allocation lists: generate, import, activate, verify, extend (statisticians).

Every list records its parameters; its SHA-256 digest is computed over them
and every slot (``list_digest_compute``) and recorded at activation.
"""

import csv
import io
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from perform.models import (
    Site,
    User,
)
from perform.services import audit_context
from randomization import strata
from randomization.exceptions import (
    ListInvalid,
    ListStateError,
)
from randomization.generator import (
    SchemeInvalid,
    blocks_generate,
    list_digest,
    scheme_validate,
    stratum_generate,
    stratum_rng,
)
from randomization.models import AllocationList, ListEvent, Slot, Stratum
from randomization.services.common import _require

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Digest
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Creating lists
# ---------------------------------------------------------------------------
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
            specs = stratum_generate(
                seed=seed,
                stratum_key=key,
                arms=arm_codes,
                ratio=ratio,
                block_sizes=block_sizes,
                length=length,
            )
            Slot.objects.bulk_create(
                Slot(
                    stratum=stratum,
                    sequence=s.sequence,
                    arm=s.arm,
                    block_number=s.block_number,
                    block_size=s.block_size,
                )
                for s in specs
            )
        ListEvent.objects.create(
            allocation_list=allocation_list,
            action=ListEvent.Action.GENERATED,
            digest=list_digest_compute(allocation_list),
            by=actor,
        )
    return allocation_list


IMPORT_COLUMNS = ["stratum", "sequence", "arm", "block"]


def _import_rows(csv_text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if header != IMPORT_COLUMNS:
            raise ListInvalid(
                [
                    f"Row 1: the header must be {','.join(IMPORT_COLUMNS)}, not "
                    f"{','.join(header) or '(empty)'}."
                ]
            )
        # line_num, not a counter: DictReader skips blank lines, and the row
        # numbers in error messages must be those a spreadsheet shows.
        rows = [
            (
                reader.line_num,
                {k.strip().lower(): (v or "").strip() for k, v in row.items() if k},
            )
            for row in reader
        ]
    except csv.Error as error:
        # DictReader's own line_num is set only after a row was read whole;
        # its csv reader's counts the line that failed.
        row = reader.reader.line_num
        raise ListInvalid([_csv_error_message(row, error)]) from error
    if not rows:
        raise ListInvalid(["The file has a header but no rows."])
    return rows


def _csv_error_message(row: int, error: csv.Error) -> str:
    """A row the csv module cannot read, in words a statistician can act on."""
    if "field larger than field limit" in str(error):
        return (
            f"Row {row}: a field is longer than {csv.field_size_limit():,} characters."
        )
    return f"Row {row}: the file cannot be read as CSV ({error})."


@transaction.atomic
def list_import(
    *,
    actor: User,
    name: str,
    csv_text: str,
    arms: Sequence[Sequence[str]] | None = None,
    ratio: Sequence[int] | None = None,
    block_sizes: Sequence[int] | None = None,
    factors: Sequence[str] | None = None,
) -> AllocationList:
    """Import an externally generated table (CSV: stratum, sequence, arm, block).

    All or nothing: every row is checked first and every problem is reported
    with its row number; a file with any error creates nothing. Each stratum's
    sequences must run 1, 2, 3, ... without gaps; each block must be whole,
    of a permitted size, and balanced in the allocation ratio.
    """
    _require(actor, "randomization.manage_lists", "Only statisticians import lists.")
    arms, ratio, block_sizes, factors, _ = _scheme_defaults(
        arms, ratio, block_sizes, factors, 1
    )
    arm_codes = [a[0] for a in arms]
    sites_by_code = {s.code: s for s in Site.objects.all()}
    valid_levels = {f: set(strata.FACTORS[f].levels(None)) for f in factors}
    errors: list[str] = []
    by_stratum: dict[str, list[tuple[int, int, str, int]]] = defaultdict(list)
    largest_numbers = {
        "sequence": _column_max("sequence"),
        "block": _column_max("block_number"),
    }
    for number, row in _import_rows(csv_text):
        problems = []
        key = row.get("stratum", "")
        try:
            levels = strata.levels_from_key(key, factors)
            for factor, level in levels.items():
                if level not in valid_levels[factor]:
                    problems.append(f"unknown {factor} '{level}'")
        except ValueError as error:
            problems.append(str(error).rstrip("."))
        values = {}
        for column, largest in largest_numbers.items():
            text = row.get(column, "")
            try:
                values[column] = int(text)
            except ValueError:
                values[column] = 0
            if values[column] < 1:
                problems.append(f"{column} '{text}' is not a whole number ≥ 1")
            elif values[column] > largest:
                problems.append(f"{column} {values[column]} is larger than {largest}")
        arm = row.get("arm", "")
        if arm not in arm_codes:
            problems.append(f"arm '{arm}' is not one of {', '.join(arm_codes)}")
        if problems:
            errors.append(f"Row {number}: " + "; ".join(problems) + ".")
        else:
            by_stratum[key].append((number, values["sequence"], arm, values["block"]))

    unit = sum(ratio)
    expected_share = {a: r for a, r in zip(arm_codes, ratio, strict=True)}
    block_specs: dict[str, list[tuple[int, str, int, int]]] = {}
    for key, rows in by_stratum.items():
        rows.sort(key=lambda r: r[1])
        for position, (number, sequence, _arm, _block) in enumerate(rows, start=1):
            if sequence != position:
                errors.append(
                    f"Row {number}: stratum {key} sequence {sequence} where "
                    f"{position} was expected (sequences run 1, 2, 3, ... without "
                    "gaps or repeats)."
                )
                break
        blocks: dict[int, list] = defaultdict(list)
        for row in rows:
            blocks[row[3]].append(row)
        previous_end = 0
        specs = []
        for block_number in sorted(blocks):
            members = blocks[block_number]
            first_row = min(m[0] for m in members)
            sequences = sorted(m[1] for m in members)
            size = len(members)
            if sequences != list(range(previous_end + 1, previous_end + size + 1)):
                errors.append(
                    f"Row {first_row}: block {block_number} of stratum {key} is not "
                    "one consecutive run following the previous block."
                )
            previous_end = max(previous_end, sequences[-1])
            if size not in block_sizes:
                errors.append(
                    f"Row {first_row}: block {block_number} of stratum {key} has "
                    f"{size} slots; permitted sizes are "
                    f"{', '.join(map(str, block_sizes))}."
                )
                continue
            counts = defaultdict(int)
            for member in members:
                counts[member[2]] += 1
            wanted = {a: share * size // unit for a, share in expected_share.items()}
            if dict(counts) != {a: n for a, n in wanted.items() if n}:
                shown = ", ".join(f"{a} {counts.get(a, 0)}" for a in arm_codes)
                errors.append(
                    f"Row {first_row}: block {block_number} of stratum {key} is not "
                    f"balanced {':'.join(map(str, ratio))} ({shown})."
                )
            specs.extend((m[1], m[2], block_number, size) for m in members)
        block_specs[key] = specs
    if errors:
        raise ListInvalid(errors)

    with audit_context(actor=actor):
        allocation_list = AllocationList.objects.create(
            name=name,
            source=AllocationList.Source.IMPORTED,
            arms=arms,
            ratio=ratio,
            block_sizes=block_sizes,
            factors=factors,
            slots_per_stratum=min(len(s) for s in block_specs.values()),
            seed=None,
            created_by=actor,
        )
        for key in sorted(block_specs):
            levels = strata.levels_from_key(key, factors)
            stratum = Stratum.objects.create(
                allocation_list=allocation_list,
                key=key,
                levels=levels,
                site=_site_for(levels, sites_by_code),
            )
            Slot.objects.bulk_create(
                Slot(
                    stratum=stratum,
                    sequence=sequence,
                    arm=arm,
                    block_number=block,
                    block_size=size,
                )
                for sequence, arm, block, size in sorted(block_specs[key])
            )
        ListEvent.objects.create(
            allocation_list=allocation_list,
            action=ListEvent.Action.IMPORTED,
            digest=list_digest_compute(allocation_list),
            by=actor,
            detail={"rows": sum(len(s) for s in block_specs.values())},
        )
    return allocation_list


# ---------------------------------------------------------------------------
# Activation and extension
# ---------------------------------------------------------------------------
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
        Slot.objects.bulk_create(
            Slot(
                stratum=stratum,
                sequence=s.sequence,
                arm=s.arm,
                block_number=s.block_number,
                block_size=s.block_size,
            )
            for s in specs
        )
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
