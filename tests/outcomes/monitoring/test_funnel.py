"""outcomes.monitoring.funnel against worked examples computed by hand.

Every expected number below is worked out in the comments from the formulas
(Spiegelhalter 2005), not taken from the code. No database.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.monitoring.funnel import (
    Direction,
    Flag,
    IndicatorKind,
    SiteCounts,
    control_limits,
    flag_for,
    funnel_plot_data,
    overdispersion_factor,
    site_funnel_scores,
    winsorized,
)

PROPORTION = IndicatorKind.PROPORTION
RATE = IndicatorKind.RATE
TOL = 1e-6


def approx(value):
    return pytest.approx(value, abs=TOL)


def by_code(scores):
    return {s.site_code: s for s in scores.sites}


# Proportion: e.g. queries open > 30 days among queries. Six sites, all with
# enough participants and exposure to be flagged.
#   site  yes / n     y
#   A      44 / 100   0.44
#   B      52 / 400   0.13
#   C      16 / 64    0.25
#   D       4 / 25    0.16
#   E       4 / 16    0.25
#   F       6 / 25    0.24
#   total 126 / 630 → θ0 = 0.2, V(θ0) = 0.2 × 0.8 = 0.16
PROPORTION_SITES = [
    SiteCounts("A", 44, 100, participants=10, exposure_days=300),
    SiteCounts("B", 52, 400, participants=20, exposure_days=300),
    SiteCounts("C", 16, 64, participants=8, exposure_days=300),
    SiteCounts("D", 4, 25, participants=5, exposure_days=300),
    SiteCounts("E", 4, 16, participants=4, exposure_days=300),
    SiteCounts("F", 6, 25, participants=5, exposure_days=300),
]
PROPORTION_SITES_Y = {
    "A": 0.44,
    "B": 0.13,
    "C": 0.25,
    "D": 0.16,
    "E": 0.25,
    "F": 0.24,
}


def test_proportion_worked_example_by_hand():
    scores = site_funnel_scores(PROPORTION_SITES, kind=PROPORTION)
    sites = by_code(scores)
    assert scores.benchmark == approx(0.2)  # 126 / 630
    # z = (y − 0.2) / sqrt(0.16 / n); sqrt(0.16/n) = 0.4 / sqrt(n):
    #   A: 0.24 / (0.4/10) = 0.24 / 0.04 =  6
    #   B: −0.07 / (0.4/20) = −0.07 / 0.02 = −3.5
    #   C: 0.05 / (0.4/8) = 0.05 / 0.05 =  1
    #   D: −0.04 / (0.4/5) = −0.04 / 0.08 = −0.5
    #   E: 0.05 / (0.4/4) = 0.05 / 0.1 =  0.5
    #   F: 0.04 / (0.4/5) = 0.04 / 0.08 =  0.5
    expected_z = {"A": 6, "B": -3.5, "C": 1, "D": -0.5, "E": 0.5, "F": 0.5}
    for code, z in expected_z.items():
        assert sites[code].value == approx(PROPORTION_SITES_Y[code])
        assert sites[code].z == approx(z), code
    # Sorted z: −3.5, −0.5, 0.5, 0.5, 1, 6 (I = 6).
    # 10th percentile at position 0.1 × 5 = 0.5: −3.5 + 0.5 × (−0.5 + 3.5) = −2
    # 90th percentile at position 0.9 × 5 = 4.5: 1 + 0.5 × (6 − 1) = 3.5
    assert scores.winsor_bounds == (approx(-2), approx(3.5))
    expected_wz = {"A": 3.5, "B": -2, "C": 1, "D": -0.5, "E": 0.5, "F": 0.5}
    for code, wz in expected_wz.items():
        assert sites[code].winsorized_z == approx(wz), code
    # φ = (3.5² + 2² + 1² + 3 × 0.5²) / 6 = (12.25 + 4 + 1 + 0.75) / 6 = 18 / 6 = 3
    assert scores.phi == approx(3)
    assert scores.phi_used == approx(3)
    # adjusted z = z / sqrt(3): A 6/√3 = 2√3 = 3.4641016 (red, high);
    # B −3.5/√3 = −2.0207259 (amber, low); C 1/√3 = 0.5773503 (none);
    # D, E, F ∓0.5/√3 = ∓0.2886751 (none).
    expected_adjusted = {
        "A": 3.4641016,
        "B": -2.0207259,
        "C": 0.5773503,
        "D": -0.2886751,
        "E": 0.2886751,
        "F": 0.2886751,
    }
    for code, adjusted in expected_adjusted.items():
        assert sites[code].adjusted_z == pytest.approx(adjusted, abs=1e-6), code
    assert (sites["A"].flag, sites["A"].direction) == (Flag.RED, Direction.HIGH)
    assert (sites["B"].flag, sites["B"].direction) == (Flag.AMBER, Direction.LOW)
    assert {sites[c].flag for c in "CDEF"} == {Flag.NONE}
    # Unadjusted, B (|z| = 3.5) would have been red: the adjustment matters.
    assert flag_for(sites["B"].z)[0] is Flag.RED


# Rate: AE per patient-month. Site C has only 2 participants.
#   site  events / patient-months   y
#   A      12 /   40                0.3
#   B      20 /  250                0.08
#   C       5 /   10                0.5   (2 participants)
#   D      90 / 1000                0.09
#   E      19 /  160                0.11875
#   total 146 / 1460 → θ0 = 0.1 per patient-month = 10 per 100 patient-months
RATE_SITES = [
    SiteCounts("A", 12, 40, participants=6, exposure_days=400),
    SiteCounts("B", 20, 250, participants=12, exposure_days=900),
    SiteCounts("C", 5, 10, participants=2, exposure_days=200),
    SiteCounts("D", 90, 1000, participants=30, exposure_days=2000),
    SiteCounts("E", 19, 160, participants=10, exposure_days=600),
]


def test_rate_worked_example_by_hand_with_a_two_participant_site():
    scores = site_funnel_scores(RATE_SITES, kind=RATE)
    sites = by_code(scores)
    # θ0 counts site C's events and exposure, though C cannot be flagged.
    assert scores.benchmark == approx(146 / 1460) == approx(0.1)
    # z = (y − 0.1) / sqrt(0.1 / n):
    #   A: 0.2 / sqrt(0.0025) = 0.2 / 0.05 = 4
    #   B: −0.02 / sqrt(0.0004) = −0.02 / 0.02 = −1
    #   C: 0.4 / sqrt(0.01) = 0.4 / 0.1 = 4
    #   D: −0.01 / sqrt(0.0001) = −0.01 / 0.01 = −1
    #   E: 0.01875 / sqrt(0.000625) = 0.01875 / 0.025 = 0.75
    expected_z = {"A": 4, "B": -1, "C": 4, "D": -1, "E": 0.75}
    for code, z in expected_z.items():
        assert sites[code].z == approx(z), code
    # φ from A, B, D, E only (I = 4); sorted z: −1, −1, 0.75, 4.
    # 10th percentile at 0.1 × 3 = 0.3: −1 + 0.3 × 0 = −1
    # 90th percentile at 0.9 × 3 = 2.7: 0.75 + 0.7 × (4 − 0.75) = 3.025
    assert scores.winsor_bounds == (approx(-1), approx(3.025))
    assert sites["A"].winsorized_z == approx(3.025)
    assert sites["C"].winsorized_z is None
    # φ = (3.025² + 1 + 1 + 0.75²) / 4 = (9.150625 + 2 + 0.5625) / 4
    #   = 11.713125 / 4 = 2.92828125;  sqrt(φ) = 1.7112222
    assert scores.phi == approx(2.92828125)
    # A: 4 / 1.7112222 = 2.3375106 → amber, high
    # B, D: −1 / 1.7112222 = −0.5843777; E: 0.75 / 1.7112222 = 0.4382832
    assert sites["A"].adjusted_z == approx(2.3375106)
    assert sites["B"].adjusted_z == approx(-0.5843777)
    assert sites["D"].adjusted_z == approx(-0.5843777)
    assert sites["E"].adjusted_z == approx(0.4382832)
    assert (sites["A"].flag, sites["A"].direction) == (Flag.AMBER, Direction.HIGH)
    assert {sites[c].flag for c in "BDE"} == {Flag.NONE}
    # C: same z as A (4), reported, but never flagged with 2 participants.
    assert sites["C"].adjusted_z == approx(2.3375106)
    assert sites["C"].flag is Flag.TOO_LITTLE_DATA
    assert "2 participants" in sites["C"].reason


def test_two_participant_site_is_left_out_of_phi():
    """Had C (z = 4) entered φ, I = 5 with sorted z −1, −1, 0.75, 4, 4: the
    90th percentile at 0.9 × 4 = 3.6 is 4, so φ = (16 + 16 + 1 + 1 + 0.5625)/5
    = 34.5625 / 5 = 6.9125 — not the 2.92828125 the site-level φ gives."""
    scores = site_funnel_scores(RATE_SITES, kind=RATE)
    assert scores.phi == approx(2.92828125)
    assert overdispersion_factor([4, -1, 4, -1, 0.75]) == approx(6.9125)


def test_a_lone_eligible_site_is_only_compared_with_itself():
    """A: 30 events / 100 patient-months; C: 0 / 100 with 2 participants.
    θ0 = 30 / 200 = 0.15; z_A = 0.15 / sqrt(0.15 / 100) = 0.15 / 0.0387298
    = 3.8729833 (= sqrt(15)). I = 1: both percentiles are z_A, φ = z_A² = 15,
    adjusted z_A = sqrt(15) / sqrt(15) = 1: no flag."""
    sites = [
        SiteCounts("A", 30, 100, participants=5, exposure_days=300),
        SiteCounts("C", 0, 100, participants=2, exposure_days=300),
    ]
    scores = site_funnel_scores(sites, kind=RATE)
    a = by_code(scores)["A"]
    assert a.z == approx(3.8729833)
    assert scores.phi == approx(15)
    assert a.adjusted_z == approx(1)
    assert a.flag is Flag.NONE


def test_too_little_exposure_is_not_flagged():
    """29 days of exposure is under the 30-day minimum; 30 is enough."""
    sites = [
        SiteCounts("A", 12, 40, participants=6, exposure_days=29),
        SiteCounts("B", 20, 250, participants=12, exposure_days=30),
    ]
    scores = by_code(site_funnel_scores(sites, kind=RATE))
    assert scores["A"].flag is Flag.TOO_LITTLE_DATA
    assert "29 days" in scores["A"].reason
    assert scores["B"].flag is not Flag.TOO_LITTLE_DATA


def test_phi_below_one_leaves_z_unadjusted():
    """Ten sites of n = 100, 200 "yes" in all → θ0 = 0.2, sqrt(0.16/100) = 0.04.
    Outlier O: 44 → z = 0.24/0.04 = 6; P: 14 → −0.06/0.04 = −1.5;
    Q, R: 17 → −0.75; S..X: 18 → −0.5. (44 + 14 + 34 + 108 = 200.)
    Sorted z: −1.5, −0.75, −0.75, −0.5 ×6, 6 (I = 10).
    10th percentile at 0.9: −1.5 + 0.9 × 0.75 = −0.825;
    90th percentile at 8.1: −0.5 + 0.1 × 6.5 = 0.15.
    φ = (0.15² + 0.825² + 2 × 0.75² + 6 × 0.5²) / 10
      = (0.0225 + 0.680625 + 1.125 + 1.5) / 10 = 0.3328125 < 1:
    adjusted z = z, and the outlier stays red (un-winsorized, mean z² would be
    (36 + 2.25 + 1.125 + 1.5) / 10 = 4.0875, shrinking it to 2.97, amber)."""
    events = {"O": 44, "P": 14, "Q": 17, "R": 17}
    events |= {code: 18 for code in "STUVWX"}
    sites = [SiteCounts(code, e, 100, 10, 300) for code, e in events.items()]
    scores = site_funnel_scores(sites, kind=PROPORTION)
    assert scores.benchmark == approx(0.2)
    assert scores.winsor_bounds == (approx(-0.825), approx(0.15))
    assert scores.phi == approx(0.3328125)
    assert scores.phi_used == 1.0
    for s in scores.sites:
        assert s.adjusted_z == s.z
    outlier = by_code(scores)["O"]
    assert outlier.z == approx(6)
    assert (outlier.flag, outlier.direction) == (Flag.RED, Direction.HIGH)
    assert by_code(scores)["P"].flag is Flag.NONE


def test_winsorizing_uses_numpy_linear_percentiles():
    """Five z: sorted 0, 1, 2, 3, 10. Positions 0.1 × 4 = 0.4 and 0.9 × 4 =
    3.6: 10th = 0 + 0.4 × 1 = 0.4; 90th = 3 + 0.6 × 7 = 7.2."""
    clipped, bounds = winsorized([3, 10, 0, 2, 1])
    assert bounds == (approx(0.4), approx(7.2))
    assert clipped.tolist() == [approx(3), approx(7.2), approx(0.4), 2, 1]


@pytest.mark.parametrize("kind", [PROPORTION, RATE])
def test_benchmark_of_zero_gives_no_z_and_no_flag(kind):
    sites = [
        SiteCounts("A", 0, 50, 5, 100),
        SiteCounts("B", 0, 80, 8, 100),
        SiteCounts("C", 0, 10, 2, 100),
    ]
    scores = site_funnel_scores(sites, kind=kind)
    assert scores.benchmark == 0
    assert scores.phi is None
    assert scores.phi_used == 1.0
    assert "no variation" in scores.note
    a, b, c = scores.sites
    assert (a.z, a.adjusted_z, a.flag) == (None, None, Flag.NONE)
    assert (b.z, b.flag) == (None, Flag.NONE)
    assert "z undefined" in a.reason
    assert c.flag is Flag.TOO_LITTLE_DATA


def test_proportion_benchmark_of_one_gives_no_z():
    sites = [SiteCounts("A", 50, 50, 5, 100), SiteCounts("B", 80, 80, 8, 100)]
    scores = site_funnel_scores(sites, kind=PROPORTION)
    assert scores.benchmark == 1
    assert [s.z for s in scores.sites] == [None, None]
    assert [s.flag for s in scores.sites] == [Flag.NONE, Flag.NONE]


def test_site_without_denominator_is_left_out_of_the_benchmark():
    """θ0 = (10 + 30) / (100 + 100) = 0.2; site C (0 / 0) has no value."""
    sites = [
        SiteCounts("A", 10, 100, 5, 100),
        SiteCounts("B", 30, 100, 5, 100),
        SiteCounts("C", 0, 0, 4, 100),
    ]
    scores = by_code(site_funnel_scores(sites, kind=PROPORTION))
    assert scores["A"].z == approx(-0.1 / 0.04)
    assert scores["C"].value is None
    assert scores["C"].flag is Flag.TOO_LITTLE_DATA
    assert "denominator 0" in scores["C"].reason


@pytest.mark.parametrize(
    ("z", "flag", "direction"),
    [
        (3.0001, Flag.RED, Direction.HIGH),
        (3.0, Flag.AMBER, Direction.HIGH),
        (-3.0, Flag.AMBER, Direction.LOW),
        (-3.0001, Flag.RED, Direction.LOW),
        (2.0, Flag.NONE, Direction.HIGH),
        (-2.0001, Flag.AMBER, Direction.LOW),
        (0.0, Flag.NONE, None),
        (None, Flag.NONE, None),
    ],
)
def test_flag_thresholds_are_strict_and_symmetric(z, flag, direction):
    assert flag_for(z) == (flag, direction)


def test_proportion_funnel_limits_by_hand():
    """θ0 = 0.2, φ = 3 (the six-site example), V(θ0) = 0.16.
    n = 100: sqrt(3 × 0.16 / 100) = sqrt(0.0048) = 0.0692820;
      3 SD: 0.2 ± 0.2078461 → lower −0.0078461 clipped to 0, upper 0.4078461;
      2 SD: 0.2 ± 0.1385641 → 0.0614359, 0.3385641.
    n = 400: sqrt(3 × 0.16 / 400) = sqrt(0.0012) = 0.0346410;
      3 SD: 0.2 ± 0.1039230 → 0.0960770, 0.3039230."""
    lower3, upper3 = control_limits(
        kind=PROPORTION, benchmark=0.2, phi_used=3, denominators=[100, 400], sds=3
    )
    assert lower3.tolist() == [0.0, approx(0.0960770)]
    assert upper3.tolist() == [approx(0.4078461), approx(0.3039230)]
    lower2, upper2 = control_limits(
        kind=PROPORTION, benchmark=0.2, phi_used=3, denominators=[100], sds=2
    )
    assert (lower2[0], upper2[0]) == (approx(0.0614359), approx(0.3385641))


def test_proportion_limits_are_clipped_to_one():
    """θ0 = 0.9, n = 4, φ = 1: 3 × sqrt(0.09 / 4) = 0.45 → upper 1.35 → 1."""
    lower, upper = control_limits(
        kind=PROPORTION, benchmark=0.9, phi_used=1, denominators=[4], sds=3
    )
    assert (lower[0], upper[0]) == (approx(0.45), 1.0)


def test_rate_funnel_limits_by_hand():
    """θ0 = 0.1 per patient-month, φ = 1.
    n = 10: 3 × sqrt(0.1/10) = 0.3 → lower −0.2 clipped to 0, upper 0.4.
    n = 250: 2 × sqrt(0.1/250) = 2 × 0.02 = 0.04 → 0.06, 0.14.
    Rates have no upper cap: n = 1, 3 SD: 0.1 + 3 × sqrt(0.1) = 1.0486833."""
    lower, upper = control_limits(
        kind=RATE, benchmark=0.1, phi_used=1, denominators=[10, 1], sds=3
    )
    assert lower.tolist() == [0.0, 0.0]
    assert upper.tolist() == [approx(0.4), approx(1.0486833)]
    lower, upper = control_limits(
        kind=RATE, benchmark=0.1, phi_used=1, denominators=[250], sds=2
    )
    assert (lower[0], upper[0]) == (approx(0.06), approx(0.14))


def test_funnel_plot_data_spans_the_sites_and_uses_phi():
    """Rate example: smallest denominator 10 (site C), largest 1000, so the
    grid runs from 5 to 1000; φ_used = 2.92828125 widens the limits: at
    n = 1000, 3 × sqrt(2.92828125 × 0.1 / 1000) = 3 × 0.0171122 = 0.0513367."""
    data = funnel_plot_data(site_funnel_scores(RATE_SITES, kind=RATE))
    assert data is not None
    assert data.denominators[0] == approx(5)
    assert data.denominators[-1] == approx(1000)
    assert np.all(np.diff(data.denominators) > 0)
    assert data.benchmark == approx(0.1)
    lower3, upper3 = data.limits[3]
    assert upper3[-1] == approx(0.1 + 0.0513367)
    assert lower3[-1] == approx(0.1 - 0.0513367)
    assert lower3[0] == 0.0  # 0.1 − 3 × sqrt(2.928 × 0.1 / 5) < 0: clipped
    lower2, upper2 = data.limits[2]
    assert np.all(lower3 <= lower2) and np.all(upper2 <= upper3)
    assert [p[0] for p in data.points] == ["A", "B", "C", "D", "E"]
    assert data.points[0] == ("A", 40, approx(0.3), Flag.AMBER)


def test_funnel_plot_data_without_any_data_is_none():
    scores = site_funnel_scores([SiteCounts("A", 0, 0, 5, 100)], kind=RATE)
    assert scores.benchmark is None
    assert funnel_plot_data(scores) is None


def test_inconsistent_counts_are_refused():
    with pytest.raises(ValueError, match="exceeds"):
        site_funnel_scores([SiteCounts("A", 5, 4, 5, 100)], kind=PROPORTION)
    with pytest.raises(ValueError, match="repeat"):
        site_funnel_scores(
            [SiteCounts("A", 1, 4, 5, 100), SiteCounts("A", 1, 4, 5, 100)],
            kind=RATE,
        )
