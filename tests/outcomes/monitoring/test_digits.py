"""outcomes.monitoring.digits: chi-square statistics worked out by hand, and
p-values checked against the closed form for odd degrees of freedom
(Abramowitz & Stegun 26.4.4), not against scipy. No database."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from outcomes.monitoring.digits import (
    digit_preference,
    terminal_digit,
    terminal_digit_scores,
)
from outcomes.monitoring.funnel import Flag


def chi_square_9df_upper_tail(x: float) -> float:
    """A&S 26.4.4 for ν = 9: Q = 2(1 − Φ(c)) + 2φ(c)(c + c³/3 + c⁵/15 + c⁷/105),
    c = sqrt(x); 2(1 − Φ(c)) = erfc(c/√2)."""
    c = math.sqrt(x)
    density = math.exp(-x / 2) / math.sqrt(2 * math.pi)
    series = c + c**3 / 3 + c**5 / 15 + c**7 / 105
    return math.erfc(c / math.sqrt(2)) + 2 * density * series


def values_with_last_digits(counts, tens=120):
    """Haemoglobin-like values (g/L) whose last digit d appears counts[d] times."""
    return [tens + digit for digit, n in enumerate(counts) for _ in range(n)]


def test_closed_form_matches_the_printed_table():
    """Checks the helper itself against printed χ²(9) critical values:
    14.684 (p = 0.10), 16.919 (0.05), 21.666 (0.01)."""
    assert chi_square_9df_upper_tail(14.684) == pytest.approx(0.10, abs=5e-5)
    assert chi_square_9df_upper_tail(16.919) == pytest.approx(0.05, abs=5e-5)
    assert chi_square_9df_upper_tail(21.666) == pytest.approx(0.01, abs=5e-5)


def test_mild_preference_is_not_flagged():
    """50 values, counts 10, 5, 5, 5, 5, 10, 2, 3, 3, 2; expected 5 each.
    χ² = (25 + 0 + 0 + 0 + 0 + 25 + 9 + 4 + 4 + 9) / 5 = 76 / 5 = 15.2,
    between 14.684 and 16.919, so 0.05 < p < 0.10 and 1.28 < z < 1.65."""
    counts = [10, 5, 5, 5, 5, 10, 2, 3, 3, 2]
    result = digit_preference("TOR", values_with_last_digits(counts))
    assert result.values == 50
    assert result.digit_counts == tuple(counts)
    assert result.chi_square == pytest.approx(15.2, abs=1e-9)
    p = chi_square_9df_upper_tail(15.2)
    assert result.p_value == pytest.approx(p, abs=1e-9)
    assert 0.05 < result.p_value < 0.10
    assert 1.2816 < result.z < 1.6449  # Φ⁻¹(0.90), Φ⁻¹(0.95)
    assert result.flag is Flag.NONE


def test_moderate_preference_is_amber():
    """50 values, counts 13, 5, 5, 5, 5, 8, 2, 2, 3, 2: deviations 8, 0, 0, 0,
    0, 3, −3, −3, −2, −3; χ² = (64 + 9 + 9 + 9 + 4 + 9) / 5 = 104 / 5 = 20.8,
    between 16.919 and 21.666: 0.01 < p < 0.05; z = Φ⁻¹(1 − p) with p from
    A&S (statistics.NormalDist, not scipy)."""
    from statistics import NormalDist

    counts = [13, 5, 5, 5, 5, 8, 2, 2, 3, 2]
    result = digit_preference("HAM", values_with_last_digits(counts))
    assert result.chi_square == pytest.approx(20.8, abs=1e-9)
    p = chi_square_9df_upper_tail(20.8)
    assert result.p_value == pytest.approx(p, abs=1e-9)
    assert result.z == pytest.approx(NormalDist().inv_cdf(1 - p), abs=1e-6)
    assert 2 < result.z < 3
    assert result.flag is Flag.AMBER


def test_rounding_to_five_is_red_with_a_finite_z():
    """30 EQ VAS values, 15 ending in 0 and 15 in 5; expected 3 each.
    χ² = (2 × 12² + 8 × 3²) / 3 = (288 + 72) / 3 = 120. p ≈ 1e-21, so 1 − p
    rounds to 1 in floating point: z must still come out finite."""
    values = [50] * 8 + [70] * 7 + [65] * 10 + [85] * 5
    result = digit_preference("BAL", values)
    assert result.chi_square == pytest.approx(120, abs=1e-9)
    assert result.p_value == pytest.approx(chi_square_9df_upper_tail(120), rel=1e-6)
    assert math.isfinite(result.z) and result.z > 9
    assert result.flag is Flag.RED


def test_perfectly_even_digits_are_not_flagged():
    """Two of each digit: χ² = 0, p = 1, z = −inf, no flag (one-sided)."""
    result = digit_preference("TOR", values_with_last_digits([2] * 10))
    assert result.chi_square == 0
    assert result.p_value == pytest.approx(1.0)
    assert result.z == -math.inf
    assert result.flag is Flag.NONE


def test_fewer_than_twenty_values_is_too_little_data():
    nineteen = [50] * 19  # would be a very strong preference
    result = digit_preference("TOR", nineteen)
    assert result.flag is Flag.TOO_LITTLE_DATA
    assert (result.chi_square, result.z) == (None, None)
    assert result.digit_counts[0] == 19
    assert "19 values" in result.reason
    assert digit_preference("TOR", [50] * 20).flag is Flag.RED


def test_scores_every_site_in_order():
    scores = terminal_digit_scores(
        {"TOR": [50] * 20, "HAM": [], "BAL": values_with_last_digits([2] * 10)}
    )
    assert [(s.site_code, s.flag) for s in scores] == [
        ("TOR", Flag.RED),
        ("HAM", Flag.TOO_LITTLE_DATA),
        ("BAL", Flag.NONE),
    ]


@pytest.mark.parametrize(
    ("value", "digit"),
    [(123, 3), (-40, 0), (7, 7), (120.0, 0), (Decimal("149"), 9)],
)
def test_terminal_digit(value, digit):
    assert terminal_digit(value) == digit


def test_fractional_value_is_refused():
    with pytest.raises(ValueError, match="whole number"):
        terminal_digit(12.5)
