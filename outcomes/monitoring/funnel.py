"""Per-site key risk indicators scored on a funnel plot (PROTOCOL §14).

Hand-written on numpy: the arithmetic is a dozen lines of Spiegelhalter's
formulas, and we know of no maintained Python library for funnel-plot
scoring with the winsorized over-dispersion estimate (statsmodels has none;
``gsm`` and ``FunnelPlotR`` are R packages).

Method, for one indicator over sites i = 1..m with numerator O_i and
denominator n_i (exposure in patient-months for a ``rate``, units for a
``proportion``):

1. Benchmark θ0 = Σ O_i / Σ n_i over every site with n_i > 0, including sites
   with too little data to be flagged (their events are real study data).
2. Unadjusted z (normal approximation; Spiegelhalter, Stat Med 2005;24:1185):
   y_i = O_i / n_i, z_i = (y_i − θ0) / sqrt(V(θ0) / n_i) with V(θ) = θ(1 − θ)
   for a proportion and V(θ) = θ for a rate. With θ0 = 0 (or θ0 = 1 for a
   proportion) V(θ0) = 0: every site has the same value, z is undefined and no
   site is flagged; ``FunnelScores.note`` says so.
3. Over-dispersion (Spiegelhalter, Qual Saf Health Care 2005;14:347): the z of
   the I sites *eligible for flagging* are winsorized at their 10th and 90th
   percentiles, computed by ``numpy.percentile`` with its default ``linear``
   method (position p/100·(I − 1) in the sorted z, interpolated between the
   neighbouring values; R's ``quantile`` type 7), and φ = (1/I) Σ z_w². If
   φ > 1, adjusted z = z / sqrt(φ) and the funnel limits widen by sqrt(φ);
   otherwise nothing changes (under-dispersion is not used to tighten the
   limits). φ is estimated from eligible sites only: a site with 2
   participants gives an unstable z that would otherwise inflate φ and
   mask real outliers. With I = 0 there is no φ and no adjustment. No test of
   whether φ differs significantly from 1 is made: any φ > 1 is applied.
4. Flags on the adjusted z: ``red`` if |z| > 3, ``amber`` if |z| > 2, else
   ``none``; direction ``high`` or ``low`` from the sign of z. A site with
   fewer than 3 participants or fewer than 30 days of exposure (or a zero
   denominator) is ``too little data``: its z is reported, never flagged.
5. Funnel limits θ0 ± k·sqrt(φ_used·V(θ0)/n) for k = 2 and 3, clipped to
   [0, 1] for a proportion and to ≥ 0 for a rate.

Compared with Gilead's ``gsm`` (``Analyze_NormalApprox``, ``Flag``; read, not
copied), which uses the same θ0, V(θ0) and multiplicative φ:

* gsm takes φ = mean(z²) over every site, without winsorizing; here the z
  are winsorized (Spiegelhalter's recommendation) so that the outliers being
  looked for do not widen their own limits, and small sites are left out.
* gsm divides by sqrt(φ) whatever φ is, so φ < 1 *inflates* z and flags more
  sites; here φ is only applied when it exceeds 1.
* gsm sets z = 0 where θ0 is 0 or 1, which reads as "on target"; here z is
  ``None`` with a note, since there is nothing to compare.
* gsm cuts at thresholds with ``right = FALSE`` (z = 3 is red, z = −3 is
  amber); here both directions use strict |z| > 2 and |z| > 3 as §14 states.
* gsm's minimum is on the indicator's own denominator (``nMinDenominator``,
  e.g. 30 days on study) and blanks score and flag in ``Summarize``, after φ
  is estimated; here §14's rule (≥ 3 participants and ≥ 30 days of exposure)
  applies to every indicator, before φ, and the small site's z is still
  reported.

With few eligible sites φ is rough: with I = 1 it is that site's z², so the
lone site's adjusted |z| is at most 1 (it is only compared with itself).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

AMBER_Z = 2.0
RED_Z = 3.0
CONTROL_LIMIT_SDS = (2, 3)
MIN_PARTICIPANTS = 3
MIN_EXPOSURE_DAYS = 30
WINSOR_PERCENTILES = (10.0, 90.0)
FUNNEL_GRID_POINTS = 200


class IndicatorKind(StrEnum):
    RATE = "rate"  # Poisson: events per unit of exposure
    PROPORTION = "proportion"  # binomial: "yes" units among units


class Flag(StrEnum):
    RED = "red"
    AMBER = "amber"
    NONE = "none"
    TOO_LITTLE_DATA = "too little data"


class Direction(StrEnum):
    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True)
class SiteCounts:
    """One site's input: the indicator's numerator and denominator, and the
    participants and days of exposure that decide whether it may be flagged."""

    site_code: str
    numerator: float
    denominator: float
    participants: int
    exposure_days: float


@dataclass(frozen=True)
class SiteScore:
    """One site's result. ``value`` is y = numerator / denominator (per unit,
    not per 100); ``winsorized_z`` is set only for sites that entered φ."""

    site_code: str
    numerator: float
    denominator: float
    value: float | None
    z: float | None
    winsorized_z: float | None
    adjusted_z: float | None
    flag: Flag
    direction: Direction | None
    reason: str = ""


@dataclass(frozen=True)
class FunnelScores:
    """Every site's score for one indicator, with the benchmark θ0, the
    estimated φ (``None`` without eligible sites) and the φ applied
    (``phi_used`` = φ if φ > 1, else 1)."""

    kind: IndicatorKind
    benchmark: float | None
    phi: float | None
    phi_used: float
    winsor_bounds: tuple[float, float] | None
    sites: tuple[SiteScore, ...]
    note: str = ""


@dataclass(frozen=True)
class FunnelPlotData:
    """The funnel over a grid of denominators: ``limits[k]`` is the (lower,
    upper) pair of arrays at k SD; ``points`` are (site code, denominator,
    value, flag) for every site with a value."""

    kind: IndicatorKind
    benchmark: float
    phi_used: float
    denominators: NDArray[np.float64]
    limits: dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]]
    points: tuple[tuple[str, float, float, Flag], ...] = field(default=())


def benchmark_value(sites: Iterable[SiteCounts]) -> float | None:
    """θ0 = Σ numerators / Σ denominators over sites with a positive
    denominator; ``None`` if no site has one."""
    with_data = [s for s in sites if s.denominator > 0]
    if not with_data:
        return None
    return sum(s.numerator for s in with_data) / sum(s.denominator for s in with_data)


def null_variance(kind: IndicatorKind, benchmark: float) -> float:
    """V(θ0), the variance of y for one unit of denominator under the null:
    θ0(1 − θ0) for a proportion (binomial), θ0 for a rate (Poisson)."""
    if kind is IndicatorKind.PROPORTION:
        return benchmark * (1.0 - benchmark)
    return benchmark


def unadjusted_z(
    *, kind: IndicatorKind, value: float, denominator: float, benchmark: float
) -> float | None:
    """(y − θ0) / sqrt(V(θ0) / n); ``None`` when V(θ0) = 0 or n = 0."""
    variance = null_variance(kind, benchmark)
    if variance <= 0 or denominator <= 0:
        return None
    return (value - benchmark) / math.sqrt(variance / denominator)


def winsorized(z_scores: ArrayLike) -> tuple[NDArray[np.float64], tuple[float, float]]:
    """The z-scores clipped to their 10th and 90th percentiles (numpy's
    default linear interpolation), and those two percentiles."""
    z = np.asarray(z_scores, dtype=float)
    low, high = np.percentile(z, WINSOR_PERCENTILES)
    return np.clip(z, low, high), (float(low), float(high))


def overdispersion_factor(z_scores: ArrayLike) -> float:
    """φ = mean of the squared winsorized z-scores."""
    clipped, _bounds = winsorized(z_scores)
    return float(np.mean(clipped**2))


def flag_for(z: float | None) -> tuple[Flag, Direction | None]:
    """Red above 3 in absolute value, amber above 2, else none; the
    direction is the sign of z (none for z = 0 or undefined)."""
    if z is None:
        return Flag.NONE, None
    direction = Direction.HIGH if z > 0 else Direction.LOW if z < 0 else None
    if abs(z) > RED_Z:
        return Flag.RED, direction
    if abs(z) > AMBER_Z:
        return Flag.AMBER, direction
    return Flag.NONE, direction


def too_little_data_reason(site: SiteCounts) -> str:
    """Why a site may not be flagged, or "" if it may."""
    if site.denominator <= 0:
        return "no data (denominator 0)"
    if site.participants < MIN_PARTICIPANTS:
        return f"{site.participants} participants (fewer than {MIN_PARTICIPANTS})"
    if site.exposure_days < MIN_EXPOSURE_DAYS:
        return (
            f"{site.exposure_days:g} days of exposure (fewer than {MIN_EXPOSURE_DAYS})"
        )
    return ""


def _check_counts(sites: Sequence[SiteCounts], kind: IndicatorKind) -> None:
    codes = [s.site_code for s in sites]
    if len(set(codes)) != len(codes):
        raise ValueError(f"site codes repeat: {sorted(codes)}")
    for s in sites:
        if s.numerator < 0 or s.denominator < 0:
            raise ValueError(f"{s.site_code}: numerator and denominator must be ≥ 0")
        if kind is IndicatorKind.PROPORTION and s.numerator > s.denominator:
            raise ValueError(f"{s.site_code}: a proportion's numerator exceeds n")


def site_funnel_scores(
    sites: Sequence[SiteCounts], *, kind: IndicatorKind
) -> FunnelScores:
    """Score every site against the study-wide value (see the module
    docstring for the method); sites keep their input order."""
    _check_counts(sites, kind)
    benchmark = benchmark_value(sites)
    if benchmark is None:
        return FunnelScores(
            kind=kind,
            benchmark=None,
            phi=None,
            phi_used=1.0,
            winsor_bounds=None,
            sites=tuple(
                _score(s, value=None, z=None, wz=None, adjusted=None) for s in sites
            ),
            note="No site has data for this indicator.",
        )
    values = {
        s.site_code: s.numerator / s.denominator for s in sites if s.denominator > 0
    }
    z_scores = {
        s.site_code: unadjusted_z(
            kind=kind,
            value=values[s.site_code],
            denominator=s.denominator,
            benchmark=benchmark,
        )
        for s in sites
        if s.site_code in values
    }
    note = ""
    if null_variance(kind, benchmark) <= 0:
        note = (
            f"Every site has the value {benchmark:g}: with no variation "
            "there is no z-score and no site is flagged."
        )
    eligible = [
        s.site_code
        for s in sites
        if not too_little_data_reason(s) and z_scores.get(s.site_code) is not None
    ]
    phi = None
    bounds = None
    winsorized_by_site: dict[str, float] = {}
    if eligible:
        clipped, bounds = winsorized([z_scores[code] for code in eligible])
        winsorized_by_site = dict(zip(eligible, clipped.tolist(), strict=True))
        phi = float(np.mean(clipped**2))
    phi_used = phi if phi is not None and phi > 1.0 else 1.0
    scored = []
    for s in sites:
        z = z_scores.get(s.site_code)
        scored.append(
            _score(
                s,
                value=values.get(s.site_code),
                z=z,
                wz=winsorized_by_site.get(s.site_code),
                adjusted=None if z is None else z / math.sqrt(phi_used),
            )
        )
    return FunnelScores(
        kind=kind,
        benchmark=benchmark,
        phi=phi,
        phi_used=phi_used,
        winsor_bounds=bounds,
        sites=tuple(scored),
        note=note,
    )


def _score(
    site: SiteCounts,
    *,
    value: float | None,
    z: float | None,
    wz: float | None,
    adjusted: float | None,
) -> SiteScore:
    reason = too_little_data_reason(site)
    flag, direction = flag_for(adjusted)
    if reason:
        flag = Flag.TOO_LITTLE_DATA
    elif z is None:
        reason = "no variation across sites: z undefined"
    return SiteScore(
        site_code=site.site_code,
        numerator=site.numerator,
        denominator=site.denominator,
        value=value,
        z=z,
        winsorized_z=wz,
        adjusted_z=adjusted,
        flag=flag,
        direction=direction,
        reason=reason,
    )


def control_limits(
    *,
    kind: IndicatorKind,
    benchmark: float,
    phi_used: float,
    denominators: ArrayLike,
    sds: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lower and upper limits θ0 ∓ sds·sqrt(φ_used·V(θ0)/n) at each n,
    clipped to [0, 1] for a proportion and to ≥ 0 for a rate."""
    n = np.asarray(denominators, dtype=float)
    half_width = sds * np.sqrt(phi_used * null_variance(kind, benchmark) / n)
    lower = np.maximum(benchmark - half_width, 0.0)
    upper = benchmark + half_width
    if kind is IndicatorKind.PROPORTION:
        upper = np.minimum(upper, 1.0)
    return lower, upper


def funnel_plot_data(
    scores: FunnelScores, *, grid_points: int = FUNNEL_GRID_POINTS
) -> FunnelPlotData | None:
    """The 2 and 3 SD limits over a geometric grid of denominators from half
    the smallest site's to the largest site's (geometric, because the funnel
    bends most at small n), and each site's point; ``None`` when no site has
    data."""
    with_value = [s for s in scores.sites if s.value is not None]
    if scores.benchmark is None or not with_value:
        return None
    smallest = min(s.denominator for s in with_value)
    largest = max(s.denominator for s in with_value)
    grid = np.geomspace(smallest / 2.0, largest, grid_points)
    limits = {
        k: control_limits(
            kind=scores.kind,
            benchmark=scores.benchmark,
            phi_used=scores.phi_used,
            denominators=grid,
            sds=k,
        )
        for k in CONTROL_LIMIT_SDS
    }
    return FunnelPlotData(
        kind=scores.kind,
        benchmark=scores.benchmark,
        phi_used=scores.phi_used,
        denominators=grid,
        limits=limits,
        points=tuple(
            (s.site_code, s.denominator, s.value, s.flag)
            for s in with_value
            if s.value is not None  # for the type checker: filtered above
        ),
    )
