"""outcomes.boundary against rpact output stored in tests/outcomes/r/comparisons.json.

References: ``getDesignGroupSequential(typeOfDesign = "asOF", alpha, sided = 2,
informationRates)`` (rpact 3.3, written by tests/outcomes/r/comparisons.R;
R never runs in CI). Tolerance: boundaries to 3 decimals (|ours - R| < 5e-4,
PROTOCOL §11); the alpha spent and nominal p-values, small numbers, to 5e-6.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm

from outcomes.boundary import Look, crossed, obf_boundaries, obf_spent

R = json.loads((Path(__file__).parent / "r" / "comparisons.json").read_text())
DESIGNS = R["boundaries"]
Z_TOL = 5e-4
P_TOL = 5e-6


def _label(design: dict) -> str:
    return f"alpha{design['alpha']}-t" + "-".join(map(str, design["information"]))


def _check(look: Look, design: dict, k: int) -> None:
    assert look.information == design["information"][k]
    assert abs(look.z - design["z"][k]) < Z_TOL, (k, look, design)
    assert abs(look.cumulative_alpha - design["cumulative_alpha"][k]) < P_TOL
    assert abs(look.nominal_p - design["nominal_p"][k]) < P_TOL


@pytest.mark.parametrize("design", DESIGNS, ids=_label)
def test_boundaries_match_rpact(design):
    looks = obf_boundaries(design["information"], alpha=design["alpha"])
    assert len(looks) == len(design["information"])
    for k, look in enumerate(looks):
        _check(look, design, k)


@pytest.mark.parametrize("design", DESIGNS, ids=_label)
def test_a_look_depends_only_on_the_looks_before_it(design):
    # An interim report knows only the looks so far: t = (0.41,) gives the
    # first boundary of rpact's c(0.41, 1).
    for k in range(1, len(design["information"])):
        looks = obf_boundaries(design["information"][:k], alpha=design["alpha"])
        for j, look in enumerate(looks):
            _check(look, design, j)


def test_the_alpha_spent_is_the_obrien_fleming_type_function_of_rpact():
    for design in DESIGNS:
        for t, spent in zip(
            design["information"], design["cumulative_alpha"], strict=True
        ):
            assert abs(obf_spent(t, design["alpha"]) - spent) < P_TOL
    assert obf_spent(1.0) == 0.05  # exactly: the last look spends all of alpha


def test_more_information_than_planned_is_capped_at_one():
    design = next(d for d in DESIGNS if d["information"] == [0.5, 1])
    looks = obf_boundaries([0.5, 1.2])
    assert looks[1].information == 1.0
    for k, look in enumerate(looks):
        _check(look, design, k)


def test_a_look_too_early_to_spend_any_alpha_cannot_be_crossed():
    first, last = obf_boundaries([1e-4, 1.0])
    assert first.z == math.inf and first.cumulative_alpha == 0.0
    assert not crossed(1e6, first)
    # nothing was spent before, so the final look is the fixed-sample test
    assert abs(last.z - norm.ppf(0.975)) < Z_TOL


def test_boundaries_are_deterministic():
    fractions = [0.25, 0.5, 0.75, 1.0]
    assert obf_boundaries(fractions) == obf_boundaries(fractions)


@pytest.mark.parametrize(
    "fractions",
    [
        [],
        [[0.5, 1.0]],
        [0.5, 0.5],
        [0.6, 0.4],
        [0.0, 1.0],
        [-0.2, 1.0],
        [0.5, float("nan")],
        [0.5, float("inf")],
        [0.5, 1.1, 1.2],  # both capped at 1
        [1.0, 1.5],
        ["a", "b"],
    ],
)
def test_bad_information_fractions_are_refused(fractions):
    with pytest.raises(ValueError):
        obf_boundaries(fractions)


@pytest.mark.parametrize("alpha", [0, 1, -0.05, 1.5, float("nan"), "0.05", None])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ValueError):
        obf_boundaries([0.5, 1.0], alpha=alpha)


def test_crossed_is_two_sided_and_includes_the_boundary():
    look = obf_boundaries([0.5])[0]
    assert crossed(look.z, look) and crossed(-look.z, look)
    assert crossed(look.z + 0.01, look) and crossed(-look.z - 0.01, look)
    assert not crossed(look.z - 0.01, look)
    assert not crossed(-look.z + 0.01, look)
    with pytest.raises(ValueError):
        crossed(float("nan"), look)
