"""Stratification factors: their levels, and the stratum of a participant.

A factor named in ``RANDOMIZATION["STRATIFICATION_FACTORS"]`` must be defined
here: its label, its levels, and how to read a participant's level. A stratum
key joins one level per factor in the list's factor order: ``TOR|impending``.
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perform.models import FractureStatus, Participant, Site


@dataclass(frozen=True)
class Factor:
    name: str
    label: str
    levels: Callable[[Sequence[Site] | None], list[str]]
    value_of: Callable[[Participant], str | None]


FACTORS: dict[str, Factor] = {
    "site": Factor(
        name="site",
        label="Site",
        levels=lambda sites: [
            s.code for s in (sites if sites is not None else Site.objects.all())
        ],
        value_of=lambda p: p.site.code,
    ),
    "fracture_status": Factor(
        name="fracture_status",
        label="Fracture status",
        levels=lambda sites: list(FractureStatus.values),
        value_of=lambda p: p.fracture_status or None,
    ),
}


def factors_validate(factors: Sequence[str]) -> None:
    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise ValueError(f"Unknown stratification factors: {', '.join(unknown)}.")
    if len(set(factors)) != len(factors):
        raise ValueError("A stratification factor is listed twice.")


def stratum_key(levels: dict[str, str], factors: Sequence[str]) -> str:
    return "|".join(levels[f] for f in factors)


def levels_from_key(key: str, factors: Sequence[str]) -> dict[str, str]:
    parts = key.split("|")
    if len(parts) != len(factors):
        raise ValueError(
            f"Stratum '{key}' should have {len(factors)} parts ({' | '.join(factors)})."
        )
    return dict(zip(factors, parts, strict=True))


def strata_levels(
    factors: Sequence[str], *, sites: Sequence[Site] | None = None
) -> list[dict[str, str]]:
    """Every combination of levels, in a stable order."""
    level_lists = [FACTORS[f].levels(sites) for f in factors]
    return [
        dict(zip(factors, combo, strict=True))
        for combo in itertools.product(*level_lists)
    ]


def participant_levels(
    participant: Participant, factors: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """(levels, labels of the factors whose data are missing)."""
    levels, missing = {}, []
    for name in factors:
        value = FACTORS[name].value_of(participant)
        if value:
            levels[name] = value
        else:
            missing.append(FACTORS[name].label)
    return levels, missing


def stratum_label(levels: dict[str, str]) -> str:
    """A readable stratum name: ``TOR, impending``."""
    return ", ".join(levels.values())
