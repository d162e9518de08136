"""list_import: an externally generated table, validated all or nothing.

A valid CSV (stratum, sequence, arm, block) becomes a draft list whose digest
verifies; a file with any bad row creates nothing and says which row is wrong,
counting the header as row 1, as a spreadsheet does.
"""

import csv
import io
import random

import pytest

from randomization import services
from randomization.exceptions import ListInvalid
from randomization.generator import list_digest, stratum_generate
from randomization.models import AllocationList, ListEvent, Slot, Stratum

STRATA = ["TOR|impending", "TOR|complete", "HAM|impending", "HAM|complete"]
HEADER = ["stratum", "sequence", "arm", "block"]


def generated_rows(seed=99, length=12, strata=STRATA):
    """Rows of a valid table, stratum by stratum in sequence order."""
    return [
        {"stratum": key, "sequence": s.sequence, "arm": s.arm, "block": s.block_number}
        for key in strata
        for s in stratum_generate(
            seed=seed,
            stratum_key=key,
            arms=["IF", "RER"],
            ratio=[1, 1],
            block_sizes=[2, 4, 6],
            length=length,
        )
    ]


def to_csv(rows, header=HEADER, line_end="\n"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows([row[c] for c in HEADER] for row in rows)
    return out.getvalue()


def row_number(index):
    """The CSV row of ``rows[index]`` (the header is row 1)."""
    return index + 2


def counts():
    return (
        AllocationList.objects.count(),
        Stratum.objects.count(),
        Slot.objects.count(),
        ListEvent.objects.count(),
    )


def _import(users, csv_text, **kwargs):
    return services.list_import(
        actor=users["statistician"], name="External", csv_text=csv_text, **kwargs
    )


# ---------------------------------------------------------------------------
# A valid table
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_valid_table_imports_as_a_draft_whose_digest_verifies(
    users, site_a, site_b, consented
):
    rows = generated_rows()
    shuffled = list(rows)
    random.Random(5).shuffle(shuffled)  # row order in the file does not matter

    allocation_list = _import(users, to_csv(shuffled))

    assert allocation_list.status == AllocationList.Status.DRAFT
    assert allocation_list.source == AllocationList.Source.IMPORTED
    assert allocation_list.seed is None
    strata = {s.key: s for s in allocation_list.strata.all()}
    assert set(strata) == set(STRATA)
    assert strata["TOR|impending"].site == site_a
    assert strata["HAM|complete"].site == site_b
    assert strata["HAM|complete"].levels == {
        "site": "HAM",
        "fracture_status": "complete",
    }
    stored = Slot.objects.filter(stratum__allocation_list=allocation_list)
    expected_sizes = {
        (row["stratum"], row["block"]): sum(
            1
            for other in rows
            if (other["stratum"], other["block"]) == (row["stratum"], row["block"])
        )
        for row in rows
    }
    assert sorted(
        stored.values_list("stratum__key", "sequence", "arm", "block_number")
    ) == sorted((r["stratum"], r["sequence"], r["arm"], r["block"]) for r in rows)
    assert all(
        slot.block_size == expected_sizes[(slot.stratum.key, slot.block_number)]
        for slot in stored.select_related("stratum")
    )
    assert allocation_list.slots_per_stratum == min(
        sum(1 for r in rows if r["stratum"] == key) for key in STRATA
    )

    # The digest covers exactly the file's rows (computed here from the file).
    expected_digest = list_digest(
        parameters=services.list_parameters(allocation_list),
        slots=[
            (
                r["stratum"],
                r["sequence"],
                r["arm"],
                r["block"],
                expected_sizes[(r["stratum"], r["block"])],
            )
            for r in rows
        ],
    )
    assert services.list_parameters(allocation_list)["source"] == "imported"
    assert services.list_parameters(allocation_list)["seed"] is None
    [event] = allocation_list.list_events.all()
    assert event.action == ListEvent.Action.IMPORTED
    assert event.digest == expected_digest
    assert event.detail == {"rows": len(rows)}

    active = services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )
    assert active.digest == expected_digest
    assert services.list_verify(allocation_list=active).matches

    # The imported list is the one randomization uses.
    first = next(r for r in rows if r["stratum"] == "HAM|complete")
    participant = consented(site_b, fracture_status="complete")
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert (result.slot.stratum.key, result.slot.sequence, result.slot.arm) == (
        "HAM|complete",
        1,
        first["arm"],
    )


@pytest.mark.django_db
def test_a_spreadsheet_export_with_bom_crlf_and_capitalised_header_imports(
    users, site_a, site_b
):
    rows = generated_rows(length=6)
    text = "\ufeff" + to_csv(
        rows, header=[" Stratum", "Sequence ", "ARM", "Block"], line_end="\r\n"
    )
    allocation_list = _import(users, text)
    assert Slot.objects.filter(stratum__allocation_list=allocation_list).count() == len(
        rows
    )


@pytest.mark.django_db
def test_a_table_for_some_strata_only_imports_those(users, site_a, site_b):
    allocation_list = _import(users, to_csv(generated_rows(strata=["TOR|complete"])))
    assert list(allocation_list.strata.values_list("key", flat=True)) == [
        "TOR|complete"
    ]


# ---------------------------------------------------------------------------
# One bad row: nothing changes, and the error names the row
# ---------------------------------------------------------------------------
def _index(rows, key, sequence):
    return next(
        i
        for i, r in enumerate(rows)
        if r["stratum"] == key and r["sequence"] == sequence
    )


def _block_start(rows, key):
    """Index of the first row of the second block of ``key`` (a row whose block
    has at least one other row)."""
    indexes = [i for i, r in enumerate(rows) if r["stratum"] == key]
    second_block = rows[indexes[0]]["block"] + 1
    return next(i for i in indexes if rows[i]["block"] == second_block)


def _set(rows, index, **changes):
    rows[index] = {**rows[index], **changes}
    return index


def mutate_unknown_site(rows):
    i = _set(rows, 5, stratum="XXX|impending")
    return i, f"Row {row_number(i)}: unknown site 'XXX'."


def mutate_unknown_fracture_status(rows):
    i = _set(rows, 7, stratum="TOR|partial")
    return i, f"Row {row_number(i)}: unknown fracture_status 'partial'."


def mutate_bad_arm(rows):
    i = _set(rows, 20, arm="PLACEBO")
    return i, f"Row {row_number(i)}: arm 'PLACEBO' is not one of IF, RER."


def mutate_non_numeric_sequence(rows):
    i = _set(rows, 31, sequence="seven")
    return i, f"Row {row_number(i)}: sequence 'seven' is not a whole number ≥ 1."


def mutate_zero_sequence(rows):
    i = _set(rows, 0, sequence=0)
    return i, f"Row {row_number(i)}: sequence '0' is not a whole number ≥ 1."


def mutate_non_numeric_block(rows):
    i = _set(rows, 40, block="B2")
    return i, f"Row {row_number(i)}: block 'B2' is not a whole number ≥ 1."


def mutate_gap_in_sequence(rows):
    last = max(r["sequence"] for r in rows if r["stratum"] == "HAM|impending")
    i = _set(rows, _index(rows, "HAM|impending", last), sequence=last + 1)
    return i, (
        f"Row {row_number(i)}: stratum HAM|impending sequence {last + 1} where "
        f"{last} was expected (sequences run 1, 2, 3, ... without gaps or repeats)."
    )


def mutate_repeated_sequence(rows):
    i = _set(rows, _index(rows, "TOR|complete", 3), sequence=2)
    return i, (
        f"Row {row_number(i)}: stratum TOR|complete sequence 2 where 3 was expected "
        "(sequences run 1, 2, 3, ... without gaps or repeats)."
    )


def mutate_unbalanced_block(rows):
    i = _block_start(rows, "HAM|complete")
    flipped = "RER" if rows[i]["arm"] == "IF" else "IF"
    block = rows[i]["block"]
    members = [r for r in rows if (r["stratum"], r["block"]) == ("HAM|complete", block)]
    _set(rows, i, arm=flipped)
    n_if = sum(r["arm"] == "IF" for r in members) + (1 if flipped == "IF" else -1)
    return i, (
        f"Row {row_number(i)}: block {block} of stratum HAM|complete is not balanced "
        f"1:1 (IF {n_if}, RER {len(members) - n_if})."
    )


def mutate_wrong_block_size(rows):
    """Two adjacent blocks relabelled as one: a balanced, consecutive block of a
    size that is not permitted (8, 10 or 12)."""
    for key in STRATA:
        blocks = {}
        for r in rows:
            if r["stratum"] == key:
                blocks[r["block"]] = blocks.get(r["block"], 0) + 1
        for block in sorted(blocks)[:-1]:
            size = blocks[block] + blocks[block + 1]
            if size not in (2, 4, 6):
                for j, r in enumerate(rows):
                    if (r["stratum"], r["block"]) == (key, block + 1):
                        _set(rows, j, block=block)
                i = next(
                    j
                    for j, r in enumerate(rows)
                    if (r["stratum"], r["block"]) == (key, block)
                )
                return i, (
                    f"Row {row_number(i)}: block {block} of stratum {key} has "
                    f"{size} slots; permitted sizes are 2, 4, 6."
                )
    raise AssertionError("no pair of blocks to merge")


MUTATIONS = [
    mutate_unknown_site,
    mutate_unknown_fracture_status,
    mutate_bad_arm,
    mutate_non_numeric_sequence,
    mutate_zero_sequence,
    mutate_non_numeric_block,
    mutate_gap_in_sequence,
    mutate_repeated_sequence,
    mutate_unbalanced_block,
    mutate_wrong_block_size,
]
# Problems of a row on its own (the rest are found across rows of a stratum).
ROW_PROBLEMS = set(MUTATIONS[:6])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate", MUTATIONS, ids=[m.__name__.removeprefix("mutate_") for m in MUTATIONS]
)
def test_one_bad_row_creates_nothing_and_is_named_by_its_row_number(
    users, active_list, mutate
):
    rows = generated_rows()
    index, expected = mutate(rows)
    before = counts()

    with pytest.raises(ListInvalid) as error:
        _import(users, to_csv(rows))

    assert expected in error.value.errors, error.value.errors
    assert all(e.startswith("Row ") for e in error.value.errors)
    if mutate in ROW_PROBLEMS:  # reported before its consequences for the stratum
        assert error.value.errors[0] == expected
    assert f"Row {row_number(index)}:" in str(error.value)
    assert counts() == before


@pytest.mark.django_db
def test_every_bad_row_is_reported_at_once(users, site_a, site_b):
    rows = generated_rows()
    _set(rows, 3, arm="X")
    _set(rows, 30, sequence="")
    before = counts()
    with pytest.raises(ListInvalid) as error:
        _import(users, to_csv(rows))
    assert error.value.errors[:2] == [
        "Row 5: arm 'X' is not one of IF, RER.",
        "Row 32: sequence '' is not a whole number ≥ 1.",
    ]
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "stratum,seq,arm,block\nTOR|impending,1,IF,1\n",
            "Row 1: the header must be stratum,sequence,arm,block, not "
            "stratum,seq,arm,block.",
        ),
        (
            "stratum,sequence,arm\nTOR|impending,1,IF\n",
            "Row 1: the header must be stratum,sequence,arm,block, not "
            "stratum,sequence,arm.",
        ),
        (
            "",
            "Row 1: the header must be stratum,sequence,arm,block, not (empty).",
        ),
        ("stratum,sequence,arm,block\n", "The file has a header but no rows."),
    ],
    ids=["renamed-column", "missing-column", "empty-file", "no-rows"],
)
def test_a_wrong_header_or_an_empty_table_creates_nothing(
    users, active_list, text, message
):
    before = counts()
    with pytest.raises(ListInvalid) as error:
        _import(users, text)
    assert error.value.errors == [message]
    assert counts() == before


@pytest.mark.django_db
def test_an_import_with_a_block_size_not_in_the_scheme_creates_nothing(
    users, site_a, site_b
):
    rows = generated_rows()
    before = counts()
    with pytest.raises(ListInvalid) as error:
        _import(users, to_csv(rows), block_sizes=[2, 4])
    six = [e for e in error.value.errors if "has 6 slots" in e]
    assert six and all(e.endswith("permitted sizes are 2, 4.") for e in six)
    assert counts() == before


@pytest.mark.django_db
def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(users, site_a, site_b):
    rows = generated_rows()
    _set(rows, 10, arm="PLACEBO")
    lines = to_csv(rows).splitlines()
    lines.insert(3, "")  # a blank line between data rows 2 and 3 (file rows 3, 5)
    with pytest.raises(ListInvalid) as error:
        _import(users, "\n".join(lines) + "\n")
    # rows[10] is on line 13 of the file (header, 10 rows, the blank line).
    assert error.value.errors[0] == "Row 13: arm 'PLACEBO' is not one of IF, RER."


@pytest.mark.django_db
def test_a_stratum_without_every_factor_is_refused_naming_its_row(
    users, site_a, site_b
):
    rows = generated_rows()
    _set(rows, 9, stratum="TOR")
    before = counts()
    with pytest.raises(ListInvalid) as error:
        _import(users, to_csv(rows))
    assert error.value.errors[0].startswith(
        "Row 11: Stratum 'TOR' should have 2 parts (site | fracture_status)."
    )
    assert counts() == before


@pytest.mark.django_db
def test_a_stratum_error_is_one_sentence(users, site_a, site_b):
    rows = generated_rows()
    _set(rows, 9, stratum="TOR")
    with pytest.raises(ListInvalid) as error:
        _import(users, to_csv(rows))
    assert error.value.errors[0] == (
        "Row 11: Stratum 'TOR' should have 2 parts (site | fracture_status)."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "line",
    [
        "TOR|impending,3,{long},2",  # the long field in the middle of the row
        "TOR|impending,3,RER,{long}",  # the long field last on the row
    ],
    ids=["middle", "last"],
)
def test_a_field_longer_than_the_csv_limit_is_named_by_its_row(users, site_a, line):
    lines = ["TOR|impending,1,IF,1", "TOR|impending,2,RER,1"]
    lines.append(line.format(long="R" * (csv.field_size_limit() + 1)))
    lines.append("TOR|impending,4,IF,2")
    before = counts()
    with pytest.raises(ListInvalid) as error:
        _import(users, "stratum,sequence,arm,block\n" + "\n".join(lines) + "\n")
    assert error.value.errors == ["Row 4: a field is longer than 131,072 characters."]
    assert counts() == before
