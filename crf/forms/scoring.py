"""PROTOCOL §8 instrument scoring: the one module every form, page and report uses.

Pure functions of the item answers. ``None`` means *not answered* (or, for
TESS, *not applicable*); a score that cannot be computed is ``None``, never 0,
so a missing questionnaire is never mistaken for the worst or best outcome.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIRELS_ITEMS = ("site", "pain", "lesion", "size")
MIRELS_IMPENDING_THRESHOLD = 9

MSTS_ITEMS = ("pain", "function", "emotional_acceptance", "supports", "walking", "gait")
MSTS_ITEM_MAX = 5

TESS_ITEM_COUNT = 30

EQ5D_DIMENSIONS = (
    "mobility",
    "self_care",
    "usual_activities",
    "pain_discomfort",
    "anxiety_depression",
)

BPI_SEVERITY_ITEMS = ("worst", "least", "average", "now")
BPI_INTERFERENCE_ITEMS = (
    "general_activity",
    "mood",
    "walking_ability",
    "normal_work",
    "relations",
    "sleep",
    "enjoyment",
)


class ScoreInputError(ValueError):
    """An item value outside the instrument's range."""


def _check_range(name: str, value, low: int, high: int) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ScoreInputError(f"{name} must be a whole number from {low} to {high}.")


@dataclass(frozen=True)
class MirelsScore:
    total: int
    impending: bool


def mirels_score(items: Mapping[str, int | None]) -> MirelsScore | None:
    """Mirels: site, pain, lesion type and size, each 1–3; total 4–12;
    ≥ 9 means an impending fracture. ``None`` unless all four are answered."""
    for name in MIRELS_ITEMS:
        _check_range(f"Mirels {name}", items.get(name), 1, 3)
    if any(items.get(name) is None for name in MIRELS_ITEMS):
        return None
    total = sum(items[name] for name in MIRELS_ITEMS)
    return MirelsScore(total=total, impending=total >= MIRELS_IMPENDING_THRESHOLD)


@dataclass(frozen=True)
class MstsScore:
    total: int
    percent: float


def msts_score(items: Mapping[str, int | None]) -> MstsScore | None:
    """MSTS 1993 lower extremity: six items 0–5, total 0–30 and as % of 30.
    ``None`` unless all six are answered (the instrument has no rule for
    missing items)."""
    for name in MSTS_ITEMS:
        _check_range(f"MSTS {name}", items.get(name), 0, MSTS_ITEM_MAX)
    if any(items.get(name) is None for name in MSTS_ITEMS):
        return None
    total = sum(items[name] for name in MSTS_ITEMS)
    maximum = MSTS_ITEM_MAX * len(MSTS_ITEMS)
    return MstsScore(total=total, percent=round(100 * total / maximum, 1))


def tess_score(items: Sequence[int | None]) -> float | None:
    """TESS lower extremity: 30 items, each 1–5 or not applicable (``None``).

    Score = (sum − n) / (4n) × 100 over the n answered items, 0–100 (higher is
    better function). ``None`` when no item applies.
    """
    if len(items) != TESS_ITEM_COUNT:
        raise ScoreInputError(f"TESS has {TESS_ITEM_COUNT} items, not {len(items)}.")
    for number, value in enumerate(items, start=1):
        _check_range(f"TESS item {number}", value, 1, 5)
    answered = [v for v in items if v is not None]
    n = len(answered)
    if n == 0:
        return None
    return round((sum(answered) - n) / (4 * n) * 100, 1)


def eq5d_profile(levels: Mapping[str, int | None]) -> str | None:
    """EQ-5D-5L health profile as its 5-digit code (``"11223"``), in the fixed
    dimension order; ``None`` unless all five dimensions are answered."""
    for name in EQ5D_DIMENSIONS:
        _check_range(f"EQ-5D {name}", levels.get(name), 1, 5)
    if any(levels.get(name) is None for name in EQ5D_DIMENSIONS):
        return None
    return "".join(str(levels[name]) for name in EQ5D_DIMENSIONS)


def eq5d_vas_check(vas: int | None) -> int | None:
    _check_range("EQ VAS", vas, 0, 100)
    return vas


def bpi_interference(items: Mapping[str, int | None]) -> float | None:
    """Brief Pain Inventory interference: mean of the answered items among the
    seven activities (0–10); ``None`` when none is answered."""
    for name in BPI_INTERFERENCE_ITEMS:
        _check_range(f"BPI {name}", items.get(name), 0, 10)
    answered = [items[n] for n in BPI_INTERFERENCE_ITEMS if items.get(n) is not None]
    if not answered:
        return None
    return round(sum(answered) / len(answered), 2)


def bpi_severity_check(items: Mapping[str, int | None]) -> None:
    for name in BPI_SEVERITY_ITEMS:
        _check_range(f"BPI {name}", items.get(name), 0, 10)
