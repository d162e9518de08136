"""Importing an externally generated table (CSV: stratum, sequence, arm, block)
as a draft list: every row checked first, all or nothing."""

import csv
import io
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction

from perform.models import Site, User
from perform.services import audit_context
from randomization import strata
from randomization.exceptions import ListInvalid
from randomization.generator import SlotSpec
from randomization.models import AllocationList, ListEvent, Stratum
from randomization.services.common import _require
from randomization.services.lists.common import (
    _column_max,
    _scheme_defaults,
    _site_for,
    slots_create,
)
from randomization.services.lists.verification import list_digest_compute

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
            slots_create(
                stratum=stratum,
                specs=(SlotSpec(*spec) for spec in sorted(block_specs[key])),
            )
        ListEvent.objects.create(
            allocation_list=allocation_list,
            action=ListEvent.Action.IMPORTED,
            digest=list_digest_compute(allocation_list),
            by=actor,
            detail={"rows": sum(len(s) for s in block_specs.values())},
        )
    return allocation_list
