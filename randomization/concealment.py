"""How well could the next arm be guessed? Blackwell-Hodges convergence guessing.

Pure functions, no database and no Django: the balance selector hands in the
used slots of one stratum and gets back two figures.

Why
---
With permuted blocks the arms of a stratum are balanced at the end of every
block, so someone who knows (or works out) the arms allocated so far can guess
the next one better than by chance: near the end of a block the arm that is
behind must come next. Blackwell and Hodges (Ann. Math. Statist. 1957) called
the best such guesser the *convergence strategy*: always guess the arm that
has been allocated least so far. The proportion of correct guesses it would
make is a direct measure of how well a list conceals the next allocation.
50% (for two arms 1:1) is perfect concealment, 100% none at all. Site-stratified
blocks of 2, 4 and 6 give about 70%, which is why PERFORM shows sequence
numbers and block data to statisticians only (PROTOCOL §5). Balance reports
say whether the arms are even; this says whether the next arm could have been
foreseen, which is the risk allocation concealment exists to prevent.

The figures
-----------
For one stratum, whose allocations so far are the first ``n`` slots of its
list in sequence order:

* **observed score**: walk the used slots in order; before each one the
  guesser predicts the arm with the largest *deficit* against the allocation
  ratio, ``N * r_i / R - n_i`` (``N`` allocations so far, ``n_i`` of them to
  arm ``i``, ``r_i`` its part of the ratio, ``R`` the sum of the ratio). For
  1:1 that is simply the arm allocated least so far. A correct guess scores 1;
  a tie between ``k`` arms scores ``1/k`` if the arm allocated is among them,
  the expectation of guessing at random among the tied arms, so the figure is
  deterministic (0.5 for a tie between two arms).
* **expected score**: the expectation of that score when every block of the
  stratum, with the sizes actually recorded on its slots, is a uniformly random
  permutation of its arms (each arm ``size * r_i / R`` times): the value the
  design promises, against which the observed score is read. It is exact,
  computed by dynamic programming over the arm counts drawn so far within a
  block, in rational arithmetic; no simulation.

Rate = score / n. Both are reported with ``n``.

Every block is balanced in the ratio (the generator and the import check make
it so), so at a block boundary every deficit is zero: the guesser's state
restarts with each block and the expected score of a stratum is the sum over
its blocks, a whole block of size ``s`` contributing ``E(s, s)`` and the block
in use, of which ``k`` slots are taken, ``E(s, k)``. For two arms 1:1 a whole
block of size ``2m`` gives ``E = m + (2^(2m) / C(2m, m) - 1) / 2`` (size 2:
1.5; 4: 2.8333; 6: 4.1). Unequal ratios and more than two arms are handled by
the same deficit rule; their no-information reference is the largest share of
the ratio (always guessing the largest arm), not 50%.
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class GuessingRate:
    """Convergence-guessing figures of one stratum's first ``n`` allocations."""

    n: int
    observed_score: Fraction
    expected_score: Fraction

    @property
    def observed_rate(self) -> float | None:
        """Share of allocations the convergence guesser got right (0–1)."""
        return float(self.observed_score / self.n) if self.n else None

    @property
    def expected_rate(self) -> float | None:
        """What the design leads one to expect for these ``n`` slots (0–1)."""
        return float(self.expected_score / self.n) if self.n else None

    @property
    def observed_percent(self) -> float | None:
        return None if self.observed_rate is None else 100 * self.observed_rate

    @property
    def expected_percent(self) -> float | None:
        return None if self.expected_rate is None else 100 * self.expected_rate


def chance_rate(ratio: Sequence[int]) -> Fraction:
    """The rate of a guesser who knows nothing but the ratio (always the
    largest arm): 1/2 for two arms 1:1, i.e. perfect concealment."""
    return Fraction(max(ratio), sum(ratio))


def convergence_guess(counts: Sequence[int], ratio: Sequence[int]) -> list[int]:
    """Indices of the arms the convergence guesser picks (more than one on a tie).

    ``counts[i]`` arms ``i`` allocated so far. The pick is the largest deficit
    ``N * r_i / R - n_i``, compared multiplied by ``R`` to stay in integers.
    """
    total, parts = sum(counts), sum(ratio)
    deficits = [total * r - parts * n for n, r in zip(counts, ratio, strict=True)]
    best = max(deficits)
    return [i for i, deficit in enumerate(deficits) if deficit == best]


def observed_score(
    arms_in_order: Sequence[str], *, arms: Sequence[str], ratio: Sequence[int]
) -> Fraction:
    """The convergence guesser's score over a stratum's allocations, in
    sequence order (1 per correct guess, ``1/k`` for a ``k``-way tie that
    includes the arm allocated)."""
    index = {arm: i for i, arm in enumerate(arms)}
    counts = [0] * len(arms)
    score = Fraction(0)
    for arm in arms_in_order:
        actual = index[arm]
        guessed = convergence_guess(counts, ratio)
        if actual in guessed:
            score += Fraction(1, len(guessed))
        counts[actual] += 1
    return score


def block_composition(size: int, ratio: Sequence[int]) -> tuple[int, ...]:
    """How many times each arm occurs in a balanced block of ``size``."""
    parts = sum(ratio)
    if size < 1 or size % parts:
        raise ValueError(f"A block of {size} cannot be balanced in {ratio}.")
    return tuple(size // parts * r for r in ratio)


@functools.cache
def expected_block_scores(size: int, ratio: tuple[int, ...]) -> tuple[Fraction, ...]:
    """Expected convergence score over the first ``k`` slots of a randomly
    permuted balanced block, for ``k = 0 .. size`` (cumulative).

    Dynamic programming over ``m``, the arm counts drawn so far within the
    block: every ordering is equally likely, so after ``t`` draws the state
    ``m`` has probability ``prod C(c_i, m_i) / C(size, t)``, and from it arm
    ``i`` comes next with probability ``(c_i - m_i) / (size - t)``. The guess
    from ``m`` is the one the observed walk makes, since every deficit is zero
    where the block starts.
    """
    composition = block_composition(size, ratio)
    layer = {tuple(0 for _ in composition): Fraction(1)}
    cumulative = [Fraction(0)]
    for drawn in range(size):
        remaining = size - drawn
        step = Fraction(0)
        following: dict[tuple[int, ...], Fraction] = {}
        for counts, probability in layer.items():
            guessed = convergence_guess(counts, ratio)
            for i, (have, total) in enumerate(zip(counts, composition, strict=True)):
                if have == total:
                    continue
                p_next = probability * Fraction(total - have, remaining)
                if i in guessed:
                    step += p_next / len(guessed)
                after = counts[:i] + (have + 1,) + counts[i + 1 :]
                following[after] = following.get(after, Fraction(0)) + p_next
        cumulative.append(cumulative[-1] + step)
        layer = following
    return tuple(cumulative)


def expected_score(
    blocks_in_order: Sequence[tuple[int, int]], *, ratio: Sequence[int]
) -> Fraction:
    """Expected convergence score of a stratum's first ``n`` slots, given the
    (block number, block size) of each of them in sequence order."""
    used_per_block: dict[int, int] = {}
    size_of: dict[int, int] = {}
    for number, size in blocks_in_order:
        used_per_block[number] = used_per_block.get(number, 0) + 1
        size_of[number] = size
    ratio = tuple(ratio)
    return sum(
        (
            expected_block_scores(size_of[number], ratio)[used]
            for number, used in used_per_block.items()
        ),
        Fraction(0),
    )


def stratum_guessing_rate(
    used_slots: Sequence[tuple[str, int, int]],
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
) -> GuessingRate:
    """Both figures for one stratum.

    ``used_slots``: (arm, block number, block size) of each allocation made in
    the stratum, in sequence order (the first ``n`` slots of its list).
    """
    return GuessingRate(
        n=len(used_slots),
        observed_score=observed_score(
            [arm for arm, _, _ in used_slots], arms=arms, ratio=ratio
        ),
        expected_score=expected_score(
            [(number, size) for _, number, size in used_slots], ratio=ratio
        ),
    )
