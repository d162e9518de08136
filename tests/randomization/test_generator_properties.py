"""Properties of the permuted-block generator and the list digest (no database).

PROTOCOL §5: every block is whole and balanced in the allocation ratio, so the
running imbalance of a stratum stays within half the largest block; a list is
reproducible from its seed; the digest changes when anything that defines the
list changes, and only then.
"""

import hashlib
import random
import re
from collections import Counter
from itertools import groupby

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randomization.generator import (
    SchemeInvalid,
    SlotSpec,
    blocks_generate,
    list_digest,
    scheme_validate,
    stratum_generate,
    stratum_rng,
)

EXAMPLES = settings(max_examples=150, deadline=None)
ARM_CODES = ["A", "B", "C"]
RATIOS = [(1, 1), (2, 1), (1, 2), (1, 1, 1), (3, 2), (2, 1, 1)]
STRATUM_KEYS = ["TOR|impending", "TOR|complete", "HAM|impending", "HAM|complete"]

seeds = st.integers(min_value=0, max_value=2**62)
stratum_keys = st.one_of(
    st.sampled_from(STRATUM_KEYS), st.text(min_size=1, max_size=20)
)


ANY_RATIO = st.sampled_from(RATIOS)


@st.composite
def schemes(draw, ratios=ANY_RATIO):
    """(arms, ratio, block sizes): distinct sizes, each a multiple of the ratio sum."""
    ratio = list(draw(ratios))
    unit = sum(ratio)
    multiples = draw(
        st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=3).map(
            lambda ks: sorted(set(ks))
        )
    )
    return ARM_CODES[: len(ratio)], ratio, [unit * k for k in multiples]


def _generate(seed, key, scheme, length):
    arms, ratio, block_sizes = scheme
    return stratum_generate(
        seed=seed,
        stratum_key=key,
        arms=arms,
        ratio=ratio,
        block_sizes=block_sizes,
        length=length,
    )


def _blocks(slots):
    return [list(group) for _, group in groupby(slots, key=lambda s: s.block_number)]


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------
@EXAMPLES
@given(seed=seeds, key=stratum_keys, scheme=schemes(), length=st.integers(1, 150))
def test_every_block_is_whole_of_a_permitted_size_and_balanced_in_the_ratio(
    seed, key, scheme, length
):
    arms, ratio, block_sizes = scheme
    slots = _generate(seed, key, scheme, length)

    assert [s.sequence for s in slots] == list(range(1, len(slots) + 1))
    # Whole blocks only: at least ``length`` slots, never a whole block too many.
    assert length <= len(slots) < length + max(block_sizes)
    blocks = _blocks(slots)
    assert [b[0].block_number for b in blocks] == list(range(1, len(blocks) + 1))
    for block in blocks:
        size = block[0].block_size
        assert size in block_sizes
        assert len(block) == size
        assert {s.block_size for s in block} == {size}
        expected = {
            arm: r * size // sum(ratio) for arm, r in zip(arms, ratio, strict=True)
        }
        assert Counter(s.arm for s in block) == expected


@EXAMPLES
@given(
    seed=seeds,
    key=stratum_keys,
    scheme=schemes(ratios=st.just((1, 1))),
    length=st.integers(1, 200),
)
def test_running_imbalance_of_a_1_to_1_stratum_never_exceeds_half_the_largest_block(
    seed, key, scheme, length
):
    _arms, _ratio, block_sizes = scheme
    slots = _generate(seed, key, scheme, length)
    imbalance, block_ends = 0, {}
    for slot in slots:
        imbalance += 1 if slot.arm == "A" else -1
        assert abs(imbalance) <= max(block_sizes) // 2, slot
        block_ends[slot.block_number] = imbalance
    # ... and returns to exactly zero at the end of every block.
    assert set(block_ends.values()) == {0}


@EXAMPLES
@given(seed=seeds, key=stratum_keys, scheme=schemes(), length=st.integers(1, 150))
def test_counts_are_exactly_in_the_ratio_at_every_block_boundary(
    seed, key, scheme, length
):
    arms, ratio, _block_sizes = scheme
    counts = Counter()
    for block in _blocks(_generate(seed, key, scheme, length)):
        counts.update(s.arm for s in block)
        total = sum(counts.values())
        for arm, r in zip(arms, ratio, strict=True):
            assert counts[arm] * sum(ratio) == r * total


# ---------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------
@EXAMPLES
@given(seed=seeds, key=stratum_keys, scheme=schemes(), length=st.integers(1, 150))
def test_the_same_seed_stratum_and_parameters_give_the_same_list(
    seed, key, scheme, length
):
    arms, ratio, block_sizes = scheme
    first = _generate(seed, key, scheme, length)
    assert _generate(seed, key, scheme, length) == first
    # The stratum's dedicated generator is all there is to it.
    assert (
        blocks_generate(
            rng=stratum_rng(seed, key),
            arms=arms,
            ratio=ratio,
            block_sizes=block_sizes,
            min_length=length,
        )
        == first
    )


@EXAMPLES
@given(seed=seeds, key=stratum_keys, scheme=schemes(), length=st.integers(1, 100))
def test_generation_neither_reads_nor_changes_the_global_random_state(
    seed, key, scheme, length
):
    random.seed(1234)
    before = random.getstate()
    first = _generate(seed, key, scheme, length)
    assert random.getstate() == before
    random.seed(98765)  # a different global state changes nothing
    assert _generate(seed, key, scheme, length) == first


@settings(max_examples=100, deadline=None)
@given(seed=seeds, key=stratum_keys, scheme=schemes(ratios=st.just((1, 1))))
def test_another_seed_stratum_or_extension_gives_another_list(seed, key, scheme):
    """Over 60+ slots two independent lists coincide with negligible probability
    (well under 1e-12), so any equality here means the input is ignored."""
    arms, ratio, block_sizes = scheme
    scheme = (arms, ratio, sorted(set(block_sizes) | {2, 4}))
    base = [s.arm for s in _generate(seed, key, scheme, 60)]
    assert [s.arm for s in _generate(seed + 1, key, scheme, 60)] != base
    assert [s.arm for s in _generate(seed, key + "x", scheme, 60)] != base
    extension = blocks_generate(
        rng=stratum_rng(seed, key, 1),
        arms=scheme[0],
        ratio=scheme[1],
        block_sizes=scheme[2],
        min_length=60,
    )
    assert [s.arm for s in extension] != base


def test_lists_are_not_constant_over_many_seeds_and_strata():
    scheme = (["A", "B"], [1, 1], [2, 4, 6])
    by_seed = {
        tuple(s.arm for s in _generate(seed, "TOR|impending", scheme, 40))
        for seed in range(300)
    }
    by_stratum = {
        tuple(s.arm for s in _generate(7, key, scheme, 40)) for key in STRATUM_KEYS
    }
    sizes_by_seed = {
        tuple(s.block_size for s in _generate(seed, "HAM|complete", scheme, 40))
        for seed in range(300)
    }
    assert len(by_seed) == 300
    assert len(by_stratum) == len(STRATUM_KEYS)
    assert len(sizes_by_seed) > 250


def test_a_recorded_seed_still_gives_the_list_it_gave_when_the_trial_started():
    """Regression pin: the generator (seeding, block choice, shuffle) must not
    change, or an active list could no longer be reproduced from its seed."""
    slots = stratum_generate(
        seed=20250201,
        stratum_key="TOR|impending",
        arms=["IF", "RER"],
        ratio=[1, 1],
        block_sizes=[2, 4, 6],
        length=20,
    )
    assert "".join("A" if s.arm == "IF" else "B" for s in slots) == (
        "BBAAABBAABAABBBBAAABABBA"
    )
    assert [s.block_size for s in slots] == [4] * 4 + [2] * 2 + [4] * 12 + [6] * 6


@EXAMPLES
@given(
    seed=seeds,
    key=stratum_keys,
    scheme=schemes(),
    first_sequence=st.integers(1, 500),
    first_block=st.integers(1, 100),
    length=st.integers(1, 60),
)
def test_appended_blocks_continue_the_numbering_they_are_given(
    seed, key, scheme, first_sequence, first_block, length
):
    arms, ratio, block_sizes = scheme
    slots = blocks_generate(
        rng=stratum_rng(seed, key, 3),
        arms=arms,
        ratio=ratio,
        block_sizes=block_sizes,
        min_length=length,
        first_sequence=first_sequence,
        first_block=first_block,
    )
    assert [s.sequence for s in slots] == list(
        range(first_sequence, first_sequence + len(slots))
    )
    assert slots[0].block_number == first_block
    numbers = [b[0].block_number for b in _blocks(slots)]
    assert numbers == list(range(first_block, first_block + len(numbers)))


# ---------------------------------------------------------------------------
# Digest
# ---------------------------------------------------------------------------
PARAMETERS = {
    "arms": [["IF", "Internal fixation"], ["RER", "Resection"]],
    "ratio": [1, 1],
    "block_sizes": [2, 4, 6],
    "factors": ["site", "fracture_status"],
    "slots_per_stratum": 40,
    "source": "generated",
    "seed": 20250201,
}
PARAMETER_CHANGES = {
    "arms": [["IF", "Internal fixation"], ["RER", "Resection (RER)"]],
    "ratio": [2, 1],
    "block_sizes": [2, 4],
    "factors": ["fracture_status", "site"],
    "slots_per_stratum": 41,
    "source": "imported",
    "seed": 20250202,
}


@st.composite
def listed_slots(draw):
    """Digest input: (stratum, sequence, arm, block, size) rows of 1-3 strata."""
    seed = draw(seeds)
    keys = draw(
        st.lists(st.sampled_from(STRATUM_KEYS), min_size=1, max_size=3, unique=True)
    )
    rows = []
    for key in keys:
        length = draw(st.integers(1, 30))
        rows.extend(
            (key, s.sequence, s.arm, s.block_number, s.block_size)
            for s in stratum_generate(
                seed=seed,
                stratum_key=key,
                arms=["IF", "RER"],
                ratio=[1, 1],
                block_sizes=[2, 4, 6],
                length=length,
            )
        )
    return rows


def _changed(row, field, rows):
    """``row`` with one field changed to a value no other row could make equal."""
    key, sequence, arm, block, size = row
    if field == "stratum":
        return ("OSL|impending", sequence, arm, block, size)
    if field == "sequence":
        return (key, max(r[1] for r in rows) + 1, arm, block, size)
    if field == "arm":
        return (key, sequence, "RER" if arm == "IF" else "IF", block, size)
    if field == "block":
        return (key, sequence, arm, block + 1, size)
    return (key, sequence, arm, block, size + 2)


@EXAMPLES
@given(rows=listed_slots(), data=st.data())
def test_digest_does_not_depend_on_the_order_of_the_slots(rows, data):
    shuffled = data.draw(st.permutations(rows))
    digest = list_digest(parameters=PARAMETERS, slots=rows)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert list_digest(parameters=PARAMETERS, slots=shuffled) == digest
    assert list_digest(parameters=PARAMETERS, slots=iter(shuffled)) == digest
    assert list_digest(parameters=dict(PARAMETERS), slots=map(list, rows)) == digest


@EXAMPLES
@given(
    rows=listed_slots(),
    data=st.data(),
    field=st.sampled_from(["stratum", "sequence", "arm", "block", "size"]),
)
def test_digest_changes_when_any_single_slot_changes(rows, data, field):
    digest = list_digest(parameters=PARAMETERS, slots=rows)
    index = data.draw(st.integers(0, len(rows) - 1))
    tampered = list(rows)
    tampered[index] = _changed(rows[index], field, rows)
    assert list_digest(parameters=PARAMETERS, slots=tampered) != digest


@EXAMPLES
@given(rows=listed_slots(), data=st.data())
def test_digest_changes_when_a_slot_is_removed_or_added(rows, data):
    digest = list_digest(parameters=PARAMETERS, slots=rows)
    index = data.draw(st.integers(0, len(rows) - 1))
    assert (
        list_digest(parameters=PARAMETERS, slots=rows[:index] + rows[index + 1 :])
        != digest
    )
    assert list_digest(parameters=PARAMETERS, slots=[*rows, rows[index]]) != digest


@EXAMPLES
@given(
    rows=listed_slots(),
    name=st.sampled_from(sorted(PARAMETER_CHANGES)),
    seed=seeds,
)
def test_digest_changes_when_the_seed_or_any_parameter_changes(rows, name, seed):
    digest = list_digest(parameters=PARAMETERS, slots=rows)
    assert (
        list_digest(
            parameters={**PARAMETERS, name: PARAMETER_CHANGES[name]}, slots=rows
        )
        != digest
    )
    if seed != PARAMETERS["seed"]:
        assert (
            list_digest(parameters={**PARAMETERS, "seed": seed}, slots=rows) != digest
        )
    assert list_digest(parameters={**PARAMETERS, "seed": None}, slots=rows) != digest


def test_digest_is_sha256_of_the_documented_canonical_serialization():
    """Keys sorted, no whitespace, UTF-8, slots sorted: a recorded digest stays
    checkable on any machine and by an outside statistician."""
    rows = [("TOR|impending", 2, "IF", 1, 2), ("TOR|impending", 1, "RER", 1, 2)]
    parameters = {"seed": 1, "arms": [["IF", "Résection"]]}
    canonical = (
        '{"parameters":{"arms":[["IF","Résection"]],"seed":1},'
        '"slots":[["TOR|impending",1,"RER",1,2],["TOR|impending",2,"IF",1,2]]}'
    )
    digest = list_digest(parameters=parameters, slots=rows)
    assert digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert list_digest(parameters={"seed": 1}, slots=rows) == (
        "eeef9dd6d6f03dcf240be665f4a065bc7ae7d2180e72b572cf314b1255ca4a8b"
    )


# ---------------------------------------------------------------------------
# Scheme validation
# ---------------------------------------------------------------------------
@EXAMPLES
@given(
    ratio=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5, unique=True),
)
def test_scheme_validate_refuses_block_sizes_that_are_not_multiples_of_the_ratio_sum(
    ratio, sizes
):
    arms = ARM_CODES[:2] + ["D", "E"]
    arms = arms[: len(ratio)]
    unit = sum(ratio)
    wrong = [b for b in sizes if b % unit]
    if not wrong:
        scheme_validate(arms=arms, ratio=ratio, block_sizes=sizes)
        return
    with pytest.raises(SchemeInvalid) as error:
        scheme_validate(arms=arms, ratio=ratio, block_sizes=sizes)
    assert str(error.value) == (
        f"Block sizes {', '.join(map(str, wrong))} are not multiples of {unit}, "
        f"the sum of the ratio {':'.join(map(str, ratio))}."
    )


def test_scheme_validate_names_the_wrong_sizes_in_the_order_given():
    with pytest.raises(SchemeInvalid) as error:
        scheme_validate(arms=["IF", "RER"], ratio=[1, 1], block_sizes=[6, 3, 4, 5])
    assert str(error.value) == (
        "Block sizes 3, 5 are not multiples of 2, the sum of the ratio 1:1."
    )


@pytest.mark.parametrize(
    ("arms", "ratio", "block_sizes", "message"),
    [
        (["IF"], [1], [2], "A trial needs at least two arms."),
        (["IF", "IF"], [1, 1], [2], "Arm codes must be distinct."),
        (["IF", "RER"], [1], [2], "The ratio has 1 parts but there are 2 arms."),
        (["IF", "RER"], [1, 0], [2], "Each part of the ratio must be a whole"),
        (["IF", "RER"], [1, 1.5], [5], "Each part of the ratio must be a whole"),
        (["IF", "RER"], [1, 1], [], "Give at least one block size."),
        (["IF", "RER"], [1, 1], [0, 2], "Block sizes 0 are not multiples of 2"),
        (["IF", "RER"], [1, 1], [4.0], "Block sizes 4.0 are not multiples of 2"),
        (["IF", "RER"], [1, 1], [2, 4, 2], "Block sizes must be distinct."),
    ],
)
def test_scheme_validate_refuses_schemes_that_cannot_make_balanced_blocks(
    arms, ratio, block_sizes, message
):
    with pytest.raises(SchemeInvalid, match=f"^{re.escape(message)}"):
        scheme_validate(arms=arms, ratio=ratio, block_sizes=block_sizes)


def test_blocks_generate_validates_the_scheme_before_drawing():
    rng = random.Random(1)
    state = rng.getstate()
    with pytest.raises(SchemeInvalid):
        blocks_generate(
            rng=rng, arms=["IF", "RER"], ratio=[1, 1], block_sizes=[3], min_length=5
        )
    assert rng.getstate() == state


def test_slot_specs_are_immutable():
    slot = SlotSpec(1, "IF", 1, 2)
    with pytest.raises(AttributeError):
        slot.arm = "RER"
