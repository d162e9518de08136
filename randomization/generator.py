"""Permuted-block list generation and the list digest: pure functions, no database.

Every stratum draws from its own ``random.Random``, seeded from the list seed
and the stratum key through SHA-256, so a stratum's sequence depends only on
(seed, stratum, parameters): adding a site never changes another site's list,
and the same inputs always give the same list. The global ``random`` state is
never touched.
"""

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class SchemeInvalid(ValueError):
    """The arms, ratio or block sizes cannot make balanced permuted blocks."""


@dataclass(frozen=True)
class SlotSpec:
    sequence: int
    arm: str
    block_number: int
    block_size: int


def scheme_validate(
    *, arms: Sequence[str], ratio: Sequence[int], block_sizes: Sequence[int]
) -> None:
    """Refuse a scheme whose blocks could not be balanced."""
    if len(arms) < 2:
        raise SchemeInvalid("A trial needs at least two arms.")
    if len(set(arms)) != len(arms):
        raise SchemeInvalid("Arm codes must be distinct.")
    if len(ratio) != len(arms):
        raise SchemeInvalid(
            f"The ratio has {len(ratio)} parts but there are {len(arms)} arms."
        )
    if any(not isinstance(r, int) or r < 1 for r in ratio):
        raise SchemeInvalid("Each part of the ratio must be a whole number ≥ 1.")
    if not block_sizes:
        raise SchemeInvalid("Give at least one block size.")
    unit = sum(ratio)
    wrong = [b for b in block_sizes if not isinstance(b, int) or b < 1 or b % unit]
    if wrong:
        raise SchemeInvalid(
            f"Block sizes {', '.join(map(str, wrong))} are not multiples of "
            f"{unit}, the sum of the ratio {':'.join(map(str, ratio))}."
        )
    if len(set(block_sizes)) != len(block_sizes):
        raise SchemeInvalid("Block sizes must be distinct.")


def stratum_rng(seed: int, stratum_key: str, extension: int = 0) -> random.Random:
    """The dedicated generator of one stratum (``extension`` > 0 for appended
    blocks, so an extension never replays the original sequence)."""
    material = f"PERFORM|{seed}|{stratum_key}|{extension}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))


def block_arms(
    *, rng: random.Random, arms: Sequence[str], ratio: Sequence[int], size: int
) -> list[str]:
    """One block: each arm ``size / sum(ratio) * its ratio`` times, shuffled."""
    per_unit = size // sum(ratio)
    block = [
        arm for arm, r in zip(arms, ratio, strict=True) for _ in range(r * per_unit)
    ]
    rng.shuffle(block)
    return block


def blocks_generate(
    *,
    rng: random.Random,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    min_length: int,
    first_sequence: int = 1,
    first_block: int = 1,
) -> list[SlotSpec]:
    """Whole blocks of random size until at least ``min_length`` slots.

    Blocks are never cut short: a truncated block would leave the stratum
    unbalanced, so the list may be up to one block longer than asked.
    """
    scheme_validate(arms=arms, ratio=ratio, block_sizes=block_sizes)
    sizes = sorted(block_sizes)
    slots: list[SlotSpec] = []
    sequence, block_number = first_sequence, first_block
    while len(slots) < min_length:
        size = rng.choice(sizes)
        for arm in block_arms(rng=rng, arms=arms, ratio=ratio, size=size):
            slots.append(SlotSpec(sequence, arm, block_number, size))
            sequence += 1
        block_number += 1
    return slots


def stratum_generate(
    *,
    seed: int,
    stratum_key: str,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    length: int,
) -> list[SlotSpec]:
    """The full sequence of one stratum, reproducible from its seed."""
    return blocks_generate(
        rng=stratum_rng(seed, stratum_key),
        arms=arms,
        ratio=ratio,
        block_sizes=block_sizes,
        min_length=length,
    )


def list_digest(
    *, parameters: dict, slots: Iterable[tuple[str, int, str, int, int]]
) -> str:
    """SHA-256 over a canonical serialization of a list.

    ``parameters``: arms, ratio, block sizes, factors, length, source and seed.
    ``slots``: (stratum key, sequence, arm, block number, block size) tuples, in
    any order (they are sorted). Keys sorted, no whitespace, UTF-8: the same
    list gives the same digest on any machine.
    """
    canonical = json.dumps(
        {
            "parameters": parameters,
            "slots": sorted([list(slot) for slot in slots]),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
