"""Statistical checks of the generator over many lists (no database).

A fixed set of seeds (200 seeds x 4 strata of the default scheme: IF/RER 1:1,
blocks {2, 4, 6}, 334 slots) makes every test deterministic: each p-value is
computed once from the same lists on every run. A p-value above 0.01 is what a
correct generator gives; a biased one (block sizes not uniform, arms favoured
at some position, coin-flip instead of permuted blocks) falls far below it.
"""

import random
from collections import Counter
from functools import cache
from itertools import combinations, groupby, pairwise

import pytest
from scipy.stats import chi2_contingency, chisquare

from randomization.generator import stratum_generate

SEEDS = range(20250000, 20250200)
STRATUM_KEYS = ["TOR|impending", "TOR|complete", "HAM|impending", "HAM|complete"]
ARMS = ["IF", "RER"]
BLOCK_SIZES = [2, 4, 6]
LENGTH = 334
ALPHA = 0.01


@cache
def _lists() -> dict[tuple[int, str], tuple]:
    return {
        (seed, key): tuple(
            stratum_generate(
                seed=seed,
                stratum_key=key,
                arms=ARMS,
                ratio=[1, 1],
                block_sizes=BLOCK_SIZES,
                length=LENGTH,
            )
        )
        for seed in SEEDS
        for key in STRATUM_KEYS
    }


def _blocks(slots):
    return [tuple(group) for _, group in groupby(slots, key=lambda s: s.block_number)]


def test_block_sizes_are_drawn_uniformly_from_2_4_6():
    counts = Counter(
        block[0].block_size for slots in _lists().values() for block in _blocks(slots)
    )
    observed = [counts[size] for size in BLOCK_SIZES]
    assert sum(observed) > 50_000  # enough blocks for the test to have power
    assert chisquare(observed).pvalue > ALPHA, observed


@pytest.mark.parametrize("key", STRATUM_KEYS)
def test_block_sizes_are_uniform_in_each_stratum(key):
    counts = Counter(
        block[0].block_size
        for (_seed, k), slots in _lists().items()
        if k == key
        for block in _blocks(slots)
    )
    observed = [counts[size] for size in BLOCK_SIZES]
    assert chisquare(observed).pvalue > ALPHA, observed


def test_the_next_block_size_does_not_depend_on_the_previous_one():
    """A site that has guessed the end of a block learns nothing about the next."""
    table = [[0] * len(BLOCK_SIZES) for _ in BLOCK_SIZES]
    for slots in _lists().values():
        sizes = [block[0].block_size for block in _blocks(slots)]
        for previous, following in pairwise(sizes):
            table[BLOCK_SIZES.index(previous)][BLOCK_SIZES.index(following)] += 1
    assert chi2_contingency(table).pvalue > ALPHA, table


@pytest.mark.parametrize("size", BLOCK_SIZES)
def test_every_arrangement_of_a_block_is_equally_likely(size):
    """Within a block of each size, each of the C(size, size/2) orders of the
    arms is equally likely: no position in a block predicts its arm."""
    arrangements = [
        tuple("IF" if i in chosen else "RER" for i in range(size))
        for chosen in combinations(range(size), size // 2)
    ]
    counts = Counter(
        tuple(s.arm for s in block)
        for slots in _lists().values()
        for block in _blocks(slots)
        if len(block) == size
    )
    assert set(counts) == set(arrangements)
    observed = [counts[a] for a in arrangements]
    assert chisquare(observed).pvalue > ALPHA, observed


def test_every_complete_list_is_exactly_balanced():
    for (seed, key), slots in _lists().items():
        counts = Counter(s.arm for s in slots)
        assert counts["IF"] == counts["RER"], (seed, key)
        assert LENGTH <= len(slots) < LENGTH + max(BLOCK_SIZES)


@pytest.mark.parametrize("key", STRATUM_KEYS)
def test_allocation_is_balanced_in_each_stratum_at_any_enrolment(key):
    """Enrolment stops anywhere, not at a block boundary: over first-k prefixes
    of random length the arms are still 1:1 (chi-square, each list and pooled)."""
    lengths = random.Random(f"prefix-lengths-{key}")
    pooled = Counter()
    for seed in SEEDS:
        slots = _lists()[(seed, key)]
        k = lengths.randint(1, len(slots))
        counts = Counter(s.arm for s in slots[:k])
        pooled.update(counts)
        observed = [counts["IF"], counts["RER"]]
        assert chisquare(observed).pvalue > ALPHA, (seed, k, observed)
        assert abs(counts["IF"] - counts["RER"]) <= max(BLOCK_SIZES) // 2
    assert chisquare([pooled["IF"], pooled["RER"]]).pvalue > ALPHA, pooled


@pytest.mark.parametrize("k", [1, 3, 5, 7, 11, 19, 41])
def test_the_first_allocations_of_a_stratum_favour_no_arm(k):
    """Across lists, the k-th slot of a stratum is IF about half the time (the
    first patients at a new site are not predictable)."""
    counts = Counter(slots[k - 1].arm for slots in _lists().values())
    assert chisquare([counts["IF"], counts["RER"]]).pvalue > ALPHA, counts
