"""The Blackwell-Hodges convergence-guessing figures (randomization.concealment).

Hand-worked values first, then the dynamic programme against a brute-force
enumeration of every ordering of small blocks.
"""

import itertools
import math
import pathlib
import subprocess
import sys
from fractions import Fraction

import pytest

from randomization import concealment
from randomization.concealment import (
    block_composition,
    chance_rate,
    convergence_guess,
    expected_block_scores,
    expected_score,
    observed_score,
    stratum_guessing_rate,
)

ARMS = ["A", "B"]
EVEN = [1, 1]

# A stratum of three blocks, written out by hand: [A,B] [B,A,A,B] [A,A,B,B].
HAND_BLOCKS = [["A", "B"], ["B", "A", "A", "B"], ["A", "A", "B", "B"]]


def slots_of(blocks):
    """(arm, block number, block size) of every slot, in sequence order."""
    return [
        (arm, number, len(block))
        for number, block in enumerate(blocks, start=1)
        for arm in block
    ]


HAND_LIST = slots_of(HAND_BLOCKS)


# ---------------------------------------------------------------------------
# The guess
# ---------------------------------------------------------------------------
def test_the_guess_is_the_arm_allocated_least_with_ties_kept():
    assert convergence_guess([0, 0], EVEN) == [0, 1]
    assert convergence_guess([3, 2], EVEN) == [1]
    assert convergence_guess([2, 3], EVEN) == [0]


def test_with_an_unequal_ratio_the_guess_is_the_arm_furthest_behind_its_share():
    # 2:1 after A, A, B: on target (A is owed 2 of 3), a tie.
    assert convergence_guess([2, 1], [2, 1]) == [0, 1]
    # After one A: A is owed 2/3 and has 1, B is owed 1/3 and has 0 -> B.
    assert convergence_guess([1, 0], [2, 1]) == [1]
    # After one B: A is owed 2/3 and has 0 -> A, although B was not "least".
    assert convergence_guess([0, 1], [2, 1]) == [0]


# ---------------------------------------------------------------------------
# Observed score of the hand-worked stratum
# ---------------------------------------------------------------------------
def test_observed_score_of_the_hand_worked_stratum():
    # The first 8 slots are used: A B | B A A B | A A  (3rd block half used).
    #  slot  counts before (A, B)  guess   arm  score
    #  1     0, 0                  tie     A    0.5
    #  2     1, 0                  B       B    1
    #  3     1, 1                  tie     B    0.5
    #  4     1, 2                  A       A    1
    #  5     2, 2                  tie     A    0.5
    #  6     3, 2                  B       B    1
    #  7     3, 3                  tie     A    0.5
    #  8     4, 3                  B       A    0
    # total 5 of 8 = 62.5%
    used = [arm for arm, _, _ in HAND_LIST[:8]]
    assert used == ["A", "B", "B", "A", "A", "B", "A", "A"]
    assert observed_score(used, arms=ARMS, ratio=EVEN) == Fraction(5)


def test_observed_score_of_the_whole_hand_worked_stratum():
    # Slots 9 and 10 (B, B): before 9 the counts are A 5, B 3 -> guess B,
    # right; before 10, A 5, B 4 -> B, right. 5 + 2 = 7 of 10.
    arms = [arm for arm, _, _ in HAND_LIST]
    assert observed_score(arms, arms=ARMS, ratio=EVEN) == Fraction(7)


def test_no_allocation_scores_nothing_and_has_no_rate():
    rate = stratum_guessing_rate([], arms=ARMS, ratio=EVEN)
    assert (rate.n, rate.observed_score, rate.expected_score) == (0, 0, 0)
    assert rate.observed_rate is None and rate.expected_rate is None


# ---------------------------------------------------------------------------
# Expected score for the design
# ---------------------------------------------------------------------------
def formula(size):
    """Whole block of 2m, two arms 1:1: m + (2^(2m) / C(2m, m) - 1) / 2."""
    m = size // 2
    return m + (Fraction(2 ** (2 * m), math.comb(2 * m, m)) - 1) / 2


def test_whole_blocks_of_two_four_and_six():
    assert expected_block_scores(2, (1, 1))[2] == Fraction(3, 2)
    assert expected_block_scores(4, (1, 1))[4] == Fraction(17, 6)  # 2.8333...
    assert expected_block_scores(6, (1, 1))[6] == Fraction(41, 10)  # 4.1
    for size in (2, 4, 6, 8, 10):
        assert expected_block_scores(size, (1, 1))[size] == formula(size), size


def test_partially_used_block_of_four():
    # By hand: slot 1 is a tie (0.5). Slot 2: after one arm, the other is
    # guessed and is 2 of the 3 left (2/3): 7/6. Slot 3: after AB or BA
    # (probability 4/6) a tie, 0.5; after AA or BB (2/6) certain, 1:
    # 2/3 * 1/2 + 1/3 * 1 = 2/3, so 11/6. Slot 4 is always certain: 17/6.
    assert expected_block_scores(4, (1, 1)) == (
        0,
        Fraction(1, 2),
        Fraction(7, 6),
        Fraction(11, 6),
        Fraction(17, 6),
    )


def test_expected_score_of_the_hand_worked_stratum_sums_its_blocks():
    # 8 used slots: block of 2 whole (1.5), block of 4 whole (17/6), block of
    # 4 with 2 used (7/6): 1.5 + 17/6 + 7/6 = 5.5 of 8 = 68.75%.
    rate = stratum_guessing_rate(HAND_LIST[:8], arms=ARMS, ratio=EVEN)
    assert rate.n == 8
    assert rate.observed_score == 5
    assert rate.expected_score == Fraction(11, 2)
    assert rate.observed_rate == pytest.approx(0.625)
    assert rate.expected_rate == pytest.approx(0.6875)
    assert rate.observed_percent == pytest.approx(62.5)
    assert rate.expected_percent == pytest.approx(68.75)


def test_expected_score_depends_on_block_sizes_not_on_the_arms_drawn():
    # Same blocks, other orders: the design's expectation does not move.
    other = slots_of([["B", "A"], ["A", "A", "B", "B"], ["B", "A", "B", "A"]])
    assert expected_score([(n, s) for _, n, s in other[:8]], ratio=EVEN) == Fraction(
        11, 2
    )


def test_blocks_of_two_four_and_six_in_equal_numbers_give_about_seventy_percent():
    total = sum(expected_block_scores(size, (1, 1))[size] for size in (2, 4, 6))
    assert float(total / 12) == pytest.approx(0.7028, abs=1e-4)


def test_unequal_ratio_block_of_three_by_hand():
    # 2:1, block A A B in random order (3 orderings, equally likely).
    # Slot 1: tie, A with 2/3 or B with 1/3 -> 1/2.
    # Slot 2: after A (2/3): guess B, right with 1/2; after B (1/3): guess A,
    # right for sure. 2/3 * 1/2 + 1/3 = 2/3.
    # Slot 3: the remaining arm is always the one furthest behind -> 1.
    assert expected_block_scores(3, (2, 1)) == (
        0,
        Fraction(1, 2),
        Fraction(7, 6),
        Fraction(13, 6),
    )
    assert chance_rate([2, 1]) == Fraction(2, 3)
    assert chance_rate([1, 1]) == Fraction(1, 2)


def test_a_block_that_cannot_be_balanced_is_refused():
    with pytest.raises(ValueError, match="cannot be balanced"):
        block_composition(5, (1, 1))
    assert block_composition(6, (2, 1)) == (4, 2)


# ---------------------------------------------------------------------------
# Brute force: every ordering of small blocks, scored by the observed walk
# ---------------------------------------------------------------------------
def brute_force_block_scores(size, ratio):
    """Mean observed score of each prefix over all distinct orderings."""
    arms = [f"arm{i}" for i in range(len(ratio))]
    block = [
        arm
        for arm, n in zip(arms, block_composition(size, ratio), strict=True)
        for _ in range(n)
    ]
    orderings = set(itertools.permutations(block))
    return tuple(
        sum(
            (observed_score(o[:k], arms=arms, ratio=ratio) for o in orderings),
            Fraction(0),
        )
        / len(orderings)
        for k in range(size + 1)
    )


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        (2, (1, 1)),
        (4, (1, 1)),
        (6, (1, 1)),
        (8, (1, 1)),
        (3, (2, 1)),
        (6, (2, 1)),
        (5, (3, 2)),
        (3, (1, 1, 1)),
        (6, (1, 1, 1)),
        (4, (2, 1, 1)),
    ],
)
def test_dynamic_programme_equals_enumeration_of_every_ordering(size, ratio):
    assert expected_block_scores(size, ratio) == brute_force_block_scores(size, ratio)


def test_stratum_expectation_equals_enumeration_over_its_blocks():
    # Two blocks of 4 then one of 2, first 7 slots used: average the observed
    # score over every combination of orderings of the three blocks.
    sizes = [4, 4, 2]
    orders = [
        sorted(set(itertools.permutations(["A"] * (s // 2) + ["B"] * (s // 2))))
        for s in sizes
    ]
    combos = list(itertools.product(*orders))
    mean = sum(
        (
            observed_score(
                [arm for block in combo for arm in block][:7], arms=ARMS, ratio=EVEN
            )
            for combo in combos
        ),
        Fraction(0),
    ) / len(combos)
    slots = slots_of([["A"] * s for s in sizes])  # arms irrelevant to E
    assert expected_score([(n, s) for _, n, s in slots[:7]], ratio=EVEN) == mean


def test_the_module_is_pure_python_without_django():
    code = (
        "import sys, randomization.concealment; "
        "sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", code],
        cwd=pathlib.Path(concealment.__file__).parent.parent,
        check=False,
    )
    assert result.returncode == 0
