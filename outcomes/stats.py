"""Survival statistics for the DSMB reports, matching R's ``survival`` package.

Library: statsmodels (``statsmodels.duration.survfunc``, ``.stats.proportion``).
Its Kaplan-Meier estimate with Greenwood standard error, Aalen-Johansen
cumulative incidence and Wilson interval are the textbook formulas, computed
deterministically (ties grouped with ``np.unique``, no jitter); they agree with
R to floating-point accuracy (see tests/outcomes/test_stats.py). Not chosen:
scikit-survival (log-log intervals only, no infinitesimal-jackknife variance,
pulls in scikit-learn and solvers) and lifelines' AalenJohansenFitter (random
jitter for tied times). Added here, each small and documented in place:

* R's default ``conf.type="log"`` interval (``survival:::survfit_confint``):
  ``exp(log(p) -/+ z se(log p))``, upper limit capped at 1, none where p = 0;
* R's quantile rule for the median and its interval (``survival:::findq``);
* the std.err of the cumulative incidence. R always uses the infinitesimal
  jackknife (IJ) for multi-state curves. statsmodels' delta-method value is
  algebraically the same for unweighted data but NaN once everyone at risk
  fails at one time, so the IJ is computed here with R's recursion
  (``survfitci.c``); the tests check both agree wherever statsmodels' is finite.

R calls reproduced (z = ``qnorm(0.975)`` = 1.959963984540054):

* ``kaplan_meier``: ``fit <- survfit(Surv(time, status) ~ 1)``;
  ``summary(fit, times=times)`` for ``at`` (std.err of S, log interval; R drops
  times after the last observation, here they are ``None``);
  ``quantile(fit, 0.5)`` for the median and its interval. ``print(fit)``
  agrees except in two corner cases: a curve that ends flat exactly at 0.5
  (print: start of the flat stretch; quantile: its midpoint with the last
  follow-up time) and an upper CI curve crossing 0.5 more than once.
* ``cumulative_incidence``: ``fit <- survfit(Surv(time, factor(status)) ~ 1)``;
  ``summary(fit, times=times)``: column ``cause`` of ``pstate``, ``std.err``,
  ``lower``, ``upper`` (log interval on the probability itself). Every
  non-zero status other than ``cause`` is a competing event.
* ``proportion_ci``: ``prop.test(count, n, correct=FALSE)$conf.int`` (Wilson
  score interval without continuity correction).

Censorings tied with events count as at risk at that time, as in R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import index

import numpy as np
from numpy.typing import ArrayLike, NDArray
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), R's qnorm(0.975)
_TOL = math.sqrt(np.finfo(float).eps)  # quantile.survfit(tolerance=) default

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Estimate:
    time: float
    n_risk: int
    estimate: float | None
    std_err: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class KaplanMeier:
    n: int
    events: int
    at: tuple[Estimate, ...]
    median: float | None
    median_lower: float | None
    median_upper: float | None
    curve: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CumulativeIncidence:
    n: int
    events: int
    competing: int
    at: tuple[Estimate, ...]
    curve: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Proportion:
    count: int
    n: int
    estimate: float | None
    lower: float | None
    upper: float | None


# --- input validation ---------------------------------------------------------


def _vector(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a finite 1-D float array or raise ``ValueError``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return array


def _durations(values: ArrayLike) -> FloatArray:
    """Validate follow-up times: finite and non-negative."""
    durations = _vector(values, "durations")
    if np.any(durations < 0):
        raise ValueError("durations must not be negative")
    return durations


def _codes(values: ArrayLike, n: int, name: str, top: int | None) -> IntArray:
    """Validate ``n`` integer status codes in 0..top (no upper limit if None)."""
    codes = _vector(values, name)
    if codes.size != n:
        raise ValueError(f"durations and {name} differ in length")
    bad = np.any(codes != np.round(codes)) or np.any(codes < 0)
    if bad or (top is not None and np.any(codes > top)):
        allowed = "0/1 (or bool)" if top == 1 else "integers >= 0 (0 = censored)"
        raise ValueError(f"{name} must be {allowed}")
    return codes.astype(np.int64)


def _canonical(durations: FloatArray, codes: IntArray) -> tuple[FloatArray, IntArray]:
    """Sort by (duration, code) so that results do not depend on input order."""
    order = np.lexsort((codes, durations))
    return durations[order], codes[order]


# --- shared helpers -----------------------------------------------------------


def _n_risk(durations: FloatArray, t: float) -> int:
    """Subjects with follow-up >= t (R ``n.risk`` at ``t``); sorted input."""
    return int(durations.size - np.searchsorted(durations, t, side="left"))


def _log_ci(p: float, se_log: float) -> tuple[float | None, float | None]:
    """R ``conf.type="log"``: exp(log p -/+ z se(log p)), upper capped at 1."""
    if p <= 0 or math.isnan(se_log):
        return None, None
    log_p = math.log(p)
    return math.exp(log_p - Z95 * se_log), min(1.0, math.exp(log_p + Z95 * se_log))


def _missing(t: float) -> Estimate:
    """A time after the last observation (or no data): R has no row there."""
    return Estimate(float(t), 0, None, None, None, None)


def _findq(x: FloatArray, y: FloatArray, p: float, xmax: float) -> float | None:
    """R ``survival:::findq``: where the cumulative curve ``y`` (0 at x[0]) hits p.

    ``y`` is 1 - S at the jump times ``x``; NaN marks points without a value
    (dropped, as ``approx`` does). If the curve is flat at ``p`` (within
    ``sqrt(eps)``) the midpoint of the flat stretch is returned, ending at
    ``xmax`` (the last follow-up time) when the flat stretch ends the curve.
    """
    # R tests ``max(y) < p`` exactly; with the tolerance a curve ending a
    # rounding error short of p counts as flat at p, as everywhere else here.
    if np.all(np.isnan(y)) or np.nanmax(y) + _TOL < p:
        return None
    _, first = np.unique(y, return_index=True, equal_nan=True)
    keep = np.sort(first)  # R: y[!duplicated(y)]
    x, y = x[keep], y[keep]
    valid = ~np.isnan(y)

    def first_at(threshold_ok: NDArray[np.bool_]) -> int | None:
        # approx(method="constant", f=1) on values sorted by y: the point with
        # the smallest y that reaches p.
        candidates = np.flatnonzero(valid & threshold_ok)
        if candidates.size == 0:
            return None
        return int(candidates[np.argmin(y[candidates])])

    with np.errstate(invalid="ignore"):
        i1 = first_at(y + _TOL >= p)
        i2 = first_at(y - _TOL >= p)
    if i1 is None:
        return None
    if valid[-1] and abs(p - y[-1]) < _TOL:
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return None
    return float((x[i1] + x[i2]) / 2)


# --- Kaplan-Meier -------------------------------------------------------------


@dataclass(frozen=True)
class _KMFit:
    times: FloatArray  # distinct event times
    surv: FloatArray
    std_err: FloatArray  # Greenwood, of S (NaN where S == 0)
    se_log: FloatArray  # Greenwood, of log S


def _km_fit(durations: FloatArray, events: IntArray) -> _KMFit:
    """Kaplan-Meier curve at the event times (statsmodels ``SurvfuncRight``)."""
    if not events.any():
        empty = np.empty(0)
        return _KMFit(empty, empty, empty, empty)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = SurvfuncRight(durations, events.astype(np.float64))
        surv = np.asarray(fit.surv_prob, dtype=np.float64)
        std_err = np.asarray(fit.surv_prob_se, dtype=np.float64)
        se_log = np.where(surv > 0, std_err / surv, np.nan)
    return _KMFit(np.asarray(fit.surv_times, dtype=np.float64), surv, std_err, se_log)


def _km_at(t: float, durations: FloatArray, fit: _KMFit) -> Estimate:
    """One row of ``summary(fit, times=t)``."""
    if durations.size == 0 or t > durations[-1]:
        return _missing(t)
    n_risk = _n_risk(durations, t)
    k = int(np.searchsorted(fit.times, t, side="right"))
    if k == 0:
        return Estimate(float(t), n_risk, 1.0, 0.0, 1.0, 1.0)
    surv = float(fit.surv[k - 1])
    if surv <= 0:  # R: std.err NaN, no interval
        return Estimate(float(t), n_risk, 0.0, None, None, None)
    lower, upper = _log_ci(surv, float(fit.se_log[k - 1]))
    return Estimate(float(t), n_risk, surv, float(fit.std_err[k - 1]), lower, upper)


def _km_median(fit: _KMFit, xmax: float) -> tuple[float | None, ...]:
    """``quantile(fit, 0.5)``: the median and where the CI curves cross 0.5."""
    z_log = Z95 * fit.se_log
    with np.errstate(invalid="ignore", over="ignore"):
        lower = fit.surv * np.exp(-z_log)
        upper = np.minimum(1.0, fit.surv * np.exp(z_log))
    x = np.concatenate(([0.0], fit.times))
    return tuple(
        _findq(x, np.concatenate(([0.0], 1.0 - curve)), 0.5, xmax)
        for curve in (fit.surv, lower, upper)
    )


def kaplan_meier(
    durations: ArrayLike, events: ArrayLike, times: ArrayLike
) -> KaplanMeier:
    """Kaplan-Meier estimate, as R ``summary(survfit(Surv(d, e) ~ 1), times)``.

    ``events`` are 0/1 (or bool). ``at`` has one ``Estimate`` per requested
    time, in the order given: S(t) with R's std.err of S and the 95% log-scale
    interval; before the first event S = 1 (std.err 0, interval 1-1); where
    S = 0 the std.err and interval are ``None`` (R: NaN/NA); after the last
    observation everything is ``None`` with ``n_risk`` 0. ``median`` and its
    interval follow ``quantile(fit, 0.5)``; ``None`` when not reached.
    ``curve`` is ``(0, 1.0)`` then ``(t, S(t))`` at each distinct event time.
    Raises ``ValueError`` on invalid input.
    """
    d = _durations(durations)
    e = _codes(events, d.size, "events", 1)
    t_req = _vector(times, "times")
    d, e = _canonical(d, e)
    if d.size == 0:
        at = tuple(_missing(t) for t in t_req)
        return KaplanMeier(0, 0, at, None, None, None, ())
    fit = _km_fit(d, e)
    median, median_lower, median_upper = _km_median(fit, float(d[-1]))
    curve = ((0.0, 1.0),) + tuple(
        (float(t), float(s)) for t, s in zip(fit.times, fit.surv, strict=True)
    )
    return KaplanMeier(
        n=int(d.size),
        events=int(e.sum()),
        at=tuple(_km_at(t, d, fit) for t in t_req),
        median=median,
        median_lower=median_lower,
        median_upper=median_upper,
        curve=curve,
    )


# --- Aalen-Johansen -----------------------------------------------------------


def _aj_variance(
    durations: FloatArray, causes: IntArray, cause: int, event_times: FloatArray
) -> FloatArray:
    """IJ variance of the cause's incidence at each event time (R survfitci.c).

    Per subject i, U_i = dF/dw_i, updated at each event time as R does:
    U <- U %*% H, then for those at risk the derivative of the hazard matrix,
    -H[0, k] S/n and +S/n in the state entered (0 for non-movers). The variance
    is sum_i U_i^2. Inputs are sorted by duration. O(n x event times).
    """
    n = durations.size
    u_surv = np.zeros(n)  # influence on P(event-free)
    u_cause = np.zeros(n)  # influence on the cause's incidence
    surv = 1.0
    variance = np.empty(event_times.size)
    lows = np.searchsorted(durations, event_times, side="left")
    highs = np.searchsorted(durations, event_times, side="right")
    for j, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        codes = causes[lo:hi]
        step = surv / (n - lo)  # S(t-) / number at risk
        h_all = np.count_nonzero(codes) / (n - lo)
        h_cause = np.count_nonzero(codes == cause) / (n - lo)
        u_cause += u_surv * h_cause
        u_surv *= 1.0 - h_all
        u_surv[lo:] += step * h_all
        u_surv[lo + np.flatnonzero(codes)] -= step
        u_cause[lo:] -= step * h_cause
        u_cause[lo + np.flatnonzero(codes == cause)] += step
        surv *= 1.0 - h_all
        variance[j] = float(np.dot(u_cause, u_cause))
    return variance


def _aj_incidence(durations: FloatArray, causes: IntArray, cause: int) -> FloatArray:
    """Cause's incidence at each distinct duration (statsmodels, AJ estimator)."""
    utimes = np.unique(durations)
    if cause > causes.max():
        return np.zeros(utimes.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = CumIncidenceRight(durations, causes.astype(np.float64))
    return np.asarray(fit.cinc[cause - 1], dtype=np.float64)


def _aj_at(
    t: float,
    durations: FloatArray,
    utimes: FloatArray,
    incidence: FloatArray,
    event_times: FloatArray,
    variance: FloatArray,
) -> Estimate:
    """One row of the multi-state ``summary(fit, times=t)`` for the cause."""
    if durations.size == 0 or t > durations[-1]:
        return _missing(t)
    n_risk = _n_risk(durations, t)
    k = int(np.searchsorted(utimes, t, side="right"))
    estimate = float(incidence[k - 1]) if k else 0.0
    j = int(np.searchsorted(event_times, t, side="right"))
    std_err = math.sqrt(variance[j - 1]) if j else 0.0
    # R survfit_confint(logse=FALSE): se(log p) = se/p, 0 when se == 0
    lower, upper = _log_ci(estimate, std_err / estimate if std_err else 0.0)
    return Estimate(float(t), n_risk, estimate, std_err, lower, upper)


def cumulative_incidence(
    durations: ArrayLike, causes: ArrayLike, cause: int, times: ArrayLike
) -> CumulativeIncidence:
    """Aalen-Johansen incidence of ``cause``, as R multi-state ``survfit``.

    ``causes``: 0 = censored, 1..k = cause of the event; every non-zero code
    other than ``cause`` is a competing event. ``at`` holds, per requested
    time and in the order given, the probability of having had ``cause`` by
    then with R's infinitesimal-jackknife std.err and 95% log interval. While
    the cause has no events the estimate and std.err are 0 and the interval
    is ``None`` (R: NA). After the last observation everything is ``None``
    (``n_risk`` 0). ``curve`` is ``(0, 0.0)`` then ``(t, F(t))`` at each
    distinct time with an event of any cause. Raises ``ValueError`` on
    invalid input.
    """
    integer = isinstance(cause, int | np.integer) and not isinstance(cause, bool)
    if not integer or cause < 1:
        raise ValueError("cause must be an integer >= 1")
    d = _durations(durations)
    c = _codes(causes, d.size, "causes", None)
    t_req = _vector(times, "times")
    d, c = _canonical(d, c)
    n_events = int(np.count_nonzero(c == cause))
    n_competing = int(np.count_nonzero((c > 0) & (c != cause)))
    if d.size == 0:
        at = tuple(_missing(t) for t in t_req)
        return CumulativeIncidence(0, 0, 0, at, ())
    utimes = np.unique(d)
    incidence = _aj_incidence(d, c, cause)
    event_times = np.unique(d[c > 0])
    variance = _aj_variance(d, c, int(cause), event_times)
    at_events = incidence[np.searchsorted(utimes, event_times)]
    curve = ((0.0, 0.0),) + tuple(
        (float(t), float(f)) for t, f in zip(event_times, at_events, strict=True)
    )
    at = tuple(_aj_at(t, d, utimes, incidence, event_times, variance) for t in t_req)
    return CumulativeIncidence(int(d.size), n_events, n_competing, at, curve)


# --- proportions --------------------------------------------------------------


def proportion_ci(count: int, n: int) -> Proportion:
    """Wilson score 95% interval without continuity correction.

    Same as R ``prop.test(count, n, correct=FALSE)$conf.int`` (statsmodels
    ``proportion_confint(method="wilson")``). ``n == 0`` gives ``None``
    estimate and limits. Raises ``ValueError`` unless 0 <= count <= n are
    integers.
    """
    if isinstance(count, bool) or isinstance(n, bool):
        raise ValueError("count and n must be integers")
    try:
        count, n = index(count), index(n)
    except TypeError as exc:
        raise ValueError("count and n must be integers") from exc
    if n < 0 or count < 0 or count > n:
        raise ValueError("need 0 <= count <= n")
    if n == 0:
        return Proportion(count, n, None, None, None)
    lower, upper = proportion_confint(count, n, alpha=0.05, method="wilson")
    # The limits are exactly 0 (count 0) and 1 (count n); remove rounding.
    lower = 0.0 if count == 0 else float(lower)
    upper = 1.0 if count == n else float(upper)
    return Proportion(count, n, count / n, lower, upper)
