"""Group-sequential stopping boundaries for the DSMB's interim looks.

Lan-DeMets alpha spending with the O'Brien-Fleming-type function, two-sided
and symmetric (PROTOCOL §11). The two-sided alpha spent by information
fraction t is

    alpha(t) = 4 (1 - Phi(Phi^-1(1 - alpha/4) / sqrt(t))),

half of it on each side: per side 2 (1 - Phi(z_{1 - alpha/4} / sqrt(t))),
which is gsDesign's ``sfLDOF`` with one-sided alpha 0.025 and
``test.type=2``. R call reproduced (rpact 3.3):

    d <- getDesignGroupSequential(typeOfDesign = "asOF", alpha = 0.05,
                                  sided = 2, informationRates = t)
    d$criticalValues, d$alphaSpent; nominal p = 2 (1 - pnorm(criticalValues))

The boundary z_k at look k solves P(|Z_j| < z_j for j < k, |Z_k| >= z_k) =
alpha(t_k) - alpha(t_{k-1}) under the null hypothesis, where the Z statistics
are jointly normal with corr(Z_i, Z_j) = sqrt(t_i / t_j). It depends only on
t_1..t_k, so an interim boundary is the same whatever looks come later.

Written here: no maintained Python library provides spending-function
boundaries, and scipy's ``multivariate_normal.cdf`` is randomized (quasi
Monte Carlo). The joint distribution is integrated deterministically with the
Armitage-McPherson-Rowe recursion on Jennison & Turnbull's grid (Group
Sequential Methods, 2000, ch. 19: Simpson's rule on at most 12r - 3 points per look,
r = 32), and each boundary is found with ``scipy.optimize.brentq``. The
result agrees with rpact to better than 1e-6 (tests/outcomes/test_boundary.py).

Information fractions (observed / planned primary events) must be > 0 and
strictly increasing. A fraction above 1 (more events than planned) is capped
at 1: all the alpha is spent at that look, and the correlation with earlier
looks uses the capped value, as rpact and gsDesign do (their information
rates stop at 1). Only the last look may reach 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

GRID_R = 32  # Jennison & Turnbull's r: 6r - 1 points before midpoints

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Look:
    """One analysis: reject the null hypothesis when ``abs(Z) >= z``."""

    information: float  # fraction of the planned information, capped at 1
    cumulative_alpha: float  # two-sided alpha spent up to this look
    z: float  # critical value, symmetric: the boundaries are -z and +z
    nominal_p: float  # two-sided p-value at the boundary, 2 (1 - Phi(z))


def obf_spent(information: float, alpha: float = 0.05) -> float:
    """Two-sided alpha spent by ``information`` (O'Brien-Fleming type)."""
    if information <= 0:
        return 0.0
    if information >= 1:
        return alpha  # exactly, not 4 (1 - Phi(...)) with its rounding
    z = -ndtri(alpha / 4)  # Phi^-1(1 - alpha/4), accurate for small alpha
    return float(4.0 * ndtr(-z / math.sqrt(information)))


def _fractions(information_fractions: ArrayLike) -> FloatArray:
    try:
        t = np.asarray(information_fractions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("information fractions must be numbers") from exc
    if t.ndim != 1 or t.size == 0:
        raise ValueError("give the information fractions as a non-empty list")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("information fractions must be finite and > 0")
    if np.any(np.diff(t) <= 0):
        raise ValueError("information fractions must be strictly increasing")
    capped = np.minimum(t, 1.0)
    if np.any(np.diff(capped) <= 0):
        raise ValueError(
            "only the last look may reach the planned information (fractions"
            " of 1 or more are taken as 1)"
        )
    return capped


def _grid(bound: float) -> tuple[FloatArray, FloatArray]:
    """Simpson points and weights for a standard-normal-scale Z on (-b, b).

    Jennison & Turnbull ch. 19: points dense in (-3, 3) and spreading out
    logarithmically to about +-(3 + 4 log r); those outside the continuation
    region are replaced by its end points; midpoints are added between them.
    """
    r = GRID_R
    i = np.arange(1, 6 * r)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / np.minimum(i, r)),
        np.where(
            i <= 5 * r,
            -3.0 + 3.0 * (i - r) / (2.0 * r),
            3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1)),
        ),
    )
    inside = x[(x > -bound) & (x < bound)]
    ends = ([-bound] if -bound > x[0] else [], [bound] if bound < x[-1] else [])
    odd = np.concatenate((ends[0], inside, ends[1]))
    points = np.empty(2 * odd.size - 1)
    points[0::2] = odd
    points[1::2] = (odd[:-1] + odd[1:]) / 2.0
    weights = np.zeros(points.size)
    width = np.diff(odd)
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    weights[1::2] = 4.0 * width / 6.0
    return points, weights


@dataclass(frozen=True)
class _Continuing:
    """Sub-density of Z_k on a grid, given no boundary crossed up to look k."""

    information: float
    points: FloatArray
    weights: FloatArray
    density: FloatArray

    def crossing(self, information: float, bound: float) -> float:
        """P(no crossing so far, |Z| >= bound at the next look)."""
        mean = self.points * math.sqrt(self.information)
        scale = math.sqrt(information - self.information)
        edge = bound * math.sqrt(information)
        beyond = ndtr((mean - edge) / scale) + ndtr((-mean - edge) / scale)
        return float(np.sum(self.weights * self.density * beyond))

    def next(self, information: float, bound: float) -> _Continuing:
        """The sub-density at the next look, restricted to |Z| < bound."""
        points, weights = _grid(bound)
        scale = math.sqrt(information - self.information)
        previous = self.points * math.sqrt(self.information)
        gap = points[:, None] * math.sqrt(information) - previous[None, :]
        kernel = np.exp(-0.5 * (gap / scale) ** 2) / (scale * math.sqrt(2 * math.pi))
        density = math.sqrt(information) * (kernel @ (self.weights * self.density))
        return _Continuing(information, points, weights, density)


def _first(information: float, bound: float) -> _Continuing:
    points, weights = _grid(bound)
    density = np.exp(-0.5 * points**2) / math.sqrt(2 * math.pi)
    return _Continuing(information, points, weights, density)


def _solve(state: _Continuing, information: float, target: float) -> float:
    """The bound whose crossing probability at this look is ``target``."""

    def excess(bound: float) -> float:
        return state.crossing(information, bound) - target

    # At 0 everything still continuing crosses (more than any target < 1);
    # at 40 nothing does.
    return float(brentq(excess, 0.0, 40.0, xtol=1e-12, rtol=1e-14, maxiter=200))


def obf_boundaries(information_fractions: ArrayLike, alpha: float = 0.05) -> list[Look]:
    """Lan-DeMets O'Brien-Fleming-type two-sided boundaries, one per look.

    ``information_fractions``: strictly increasing, > 0 (capped at 1, see the
    module docstring). ``alpha``: two-sided, in (0, 1). A look that can spend
    no alpha (a fraction so small that alpha(t) underflows) has ``z = inf``.
    Raises ``ValueError`` on bad input.
    """
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValueError("alpha must be a number between 0 and 1")
    t = _fractions(information_fractions)
    looks: list[Look] = []
    state: _Continuing | None = None
    spent_before = 0.0
    for fraction in t:
        spent = obf_spent(float(fraction), alpha)
        target = spent - spent_before
        if target <= 0:
            bound = math.inf
        elif state is None:
            bound = float(-ndtri(target / 2.0))
        else:
            bound = _solve(state, float(fraction), target)
        state = (
            _first(float(fraction), bound)
            if state is None
            else state.next(float(fraction), bound)
        )
        looks.append(Look(float(fraction), spent, bound, float(2.0 * ndtr(-bound))))
        spent_before = spent
    return looks


def crossed(z_observed: float, look: Look) -> bool:
    """Whether an observed Z statistic is on or beyond the look's boundary."""
    if not math.isfinite(z_observed):
        raise ValueError("the observed Z must be a finite number")
    return abs(z_observed) >= look.z
