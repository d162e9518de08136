"""The live scores' JavaScript (static/js/instrument_scores.js) mirrors
crf.forms.scoring, which owns the formulas: both run on a few hundred random
answer sets, unanswered items included, and must agree to the printed digit."""

import random
from pathlib import Path

import pytest

from crf.forms import scoring

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "instrument_scores.js"
ROUNDS = 400


def answers(rng: random.Random, count: int, low: int, high: int, *, missing: float):
    return [
        None if rng.random() < missing else rng.randint(low, high) for _ in range(count)
    ]


def answer_sets(seed: int = 20261204) -> list[dict]:
    """Random answers; each set leaves some items unanswered (or none, or all)."""
    rng = random.Random(seed)
    sets = []
    for number in range(ROUNDS):
        # Mostly complete sets, then sparser ones: both branches of each score.
        missing = [0.0, 0.05, 0.3, 0.9, 1.0][number % 5]
        sets.append(
            {
                "mirels": answers(rng, 4, 1, 3, missing=missing / 3),
                "msts": answers(rng, 6, 0, 5, missing=missing / 3),
                "tess": answers(rng, 30, 1, 5, missing=missing),
                "eq5d": answers(rng, 5, 1, 5, missing=missing / 3),
                "bpi": answers(rng, 7, 0, 10, missing=missing),
            }
        )
    return sets


# Each set scored by the JavaScript, as the page prints it.
JS_SCORES = """([sets, threshold, itemMax]) => sets.map((set) => {
  const s = window.PerformScores;
  const mirels = s.mirels(set.mirels, threshold);
  const msts = s.msts(set.msts, itemMax);
  return {
    mirels: mirels && [mirels.total, mirels.impending],
    msts: msts && [msts.total, msts.percent],
    tess: s.tess(set.tess),
    eq5d: s.eq5dProfile(set.eq5d),
    bpi: s.bpiInterference(set.bpi),
  };
})"""


def python_scores(answer_set: dict) -> dict:
    """The same, by crf.forms.scoring (decimals printed as the stored Decimal)."""

    def items(names, values):
        return dict(zip(names, values, strict=True))

    mirels = scoring.mirels_score(items(scoring.MIRELS_ITEMS, answer_set["mirels"]))
    msts = scoring.msts_score(items(scoring.MSTS_ITEMS, answer_set["msts"]))
    tess = scoring.tess_score(answer_set["tess"])
    bpi = scoring.bpi_interference(
        items(scoring.BPI_INTERFERENCE_ITEMS, answer_set["bpi"])
    )
    return {
        "mirels": mirels and [mirels.total, mirels.impending],
        "msts": msts and [msts.total, f"{msts.percent:.1f}"],
        "tess": None if tess is None else f"{tess:.1f}",
        "eq5d": scoring.eq5d_profile(
            items(scoring.EQ5D_DIMENSIONS, answer_set["eq5d"])
        ),
        "bpi": None if bpi is None else f"{bpi:.2f}",
    }


def test_the_live_scores_equal_the_python_scores_on_random_answers(page):
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(SCRIPT))
    sets = answer_sets()
    computed = page.evaluate(
        JS_SCORES,
        [sets, scoring.MIRELS_IMPENDING_THRESHOLD, scoring.MSTS_ITEM_MAX],
    )
    expected = [python_scores(answer_set) for answer_set in sets]
    mismatches = [
        (answer_set, js, py)
        for answer_set, js, py in zip(sets, computed, expected, strict=True)
        if js != py
    ]
    assert mismatches == []
    # The sets reached both sides of every score.
    for key in ("mirels", "msts", "tess", "eq5d", "bpi"):
        assert any(row[key] is None for row in expected), key
        assert any(row[key] is not None for row in expected), key
    assert any(row["mirels"] and row["mirels"][1] for row in expected)


@pytest.mark.parametrize(
    ("value", "digits", "printed"),
    [
        # Python's round() on the exact double, ties to even: 6.25 → 6.2
        # (TESS with 8 items answered, sum 10), 0.125 → 0.12, 2.675 → 2.67
        # (the double is below the tie), 6.35 → 6.3 (the double is below).
        (6.25, 1, f"{round(6.25, 1):.1f}"),
        (6.75, 1, f"{round(6.75, 1):.1f}"),
        (0.125, 2, f"{round(0.125, 2):.2f}"),
        (2.675, 2, f"{round(2.675, 2):.2f}"),
        (6.35, 1, f"{round(6.35, 1):.1f}"),
        (100.0, 1, "100.0"),
        (0.0, 2, "0.00"),
    ],
)
def test_rounding_follows_python_on_ties(page, value, digits, printed):
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(SCRIPT))
    assert (
        page.evaluate(
            "([x, d]) => window.PerformScores.roundHalfEven(x, d)", [value, digits]
        )
        == printed
    )
