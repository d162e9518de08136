"""Outcome estimates by arm for the closed report (PROTOCOL §10).

``outcome_estimates`` computes every estimate from the analysis dataset with
``outcomes.stats``; the JSON keeps the raw numbers (``estimates``) next to the
printed tables, so tests can recompute them from the dataset. ``curves``
holds each plot's series (``curve_series``): steps, 95% bands, censorings,
numbers at risk and the end of follow-up.

The primary endpoint is failure *within* ``PRIMARY_HORIZON_DAYS``: its event
counts, Gray's test and hazard ratio (``outcomes.report.comparisons``) use the
data censored at the horizon (``primary_truncated``), so every number in its
table refers to the same period.
"""

import numpy as np
from django.conf import settings

from outcomes import stats
from outcomes.derivation import SCORES, score_visits
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table, mean_sd_n
from outcomes.report.sections import Group, section

PRIMARY_CAUSE_FAILURE = 1


def _estimate_dict(estimate) -> dict:
    return {
        "time": estimate.time,
        "n_risk": estimate.n_risk,
        "estimate": estimate.estimate,
        "std_err": estimate.std_err,
        "lower": estimate.lower,
        "upper": estimate.upper,
    }


def primary_truncated(rows: list[dict]) -> tuple[list[int], list[int]]:
    """(days, cause) of the primary endpoint censored at the horizon: an
    event after it counts as censored at the horizon."""
    horizon = settings.OUTCOMES["PRIMARY_HORIZON_DAYS"]
    days = [min(r["failure_days"], horizon) for r in rows]
    causes = [r["failure_cause"] if r["failure_days"] <= horizon else 0 for r in rows]
    return days, causes


def _event_times(times, codes) -> list[float]:
    t = np.asarray(times, dtype=float)
    c = np.asarray(codes)
    return [float(x) for x in np.unique(t[c != 0])]


def _censored(times, codes, curve) -> list[list[float]]:
    """One mark per distinct censoring time, at the curve's height there."""
    t = np.asarray(times, dtype=float)
    censored = np.unique(t[np.asarray(codes) == 0])
    steps = np.array([p[0] for p in curve])
    heights = np.array([p[1] for p in curve])
    where = np.searchsorted(steps, censored, side="right") - 1
    return [[float(x), float(heights[i])] for x, i in zip(censored, where, strict=True)]


def _km_curve(times, events, risk_days) -> dict:
    event_times = _event_times(times, events)
    fit = stats.kaplan_meier(times, events, [*event_times, *risk_days])
    band = fit.at[: len(event_times)]
    return {
        "points": [list(p) for p in fit.curve],
        "band": [[0.0, 1.0, 1.0]] + [[e.time, e.lower, e.upper] for e in band],
        "censored": _censored(times, events, fit.curve),
        "at_risk": [e.n_risk for e in fit.at[len(event_times) :]],
        "last": float(max(times, default=0)),
    }


def _cif_curve(times, causes, risk_days) -> dict:
    event_times = [
        t
        for t, c in sorted(set(zip(times, causes, strict=True)))
        if c == PRIMARY_CAUSE_FAILURE
    ]
    event_times = sorted(set(event_times))
    fit = stats.cumulative_incidence(
        times, causes, PRIMARY_CAUSE_FAILURE, [*event_times, *risk_days]
    )
    band = fit.at[: len(event_times)]
    return {
        "points": [list(p) for p in fit.curve],
        "band": [[0.0, 0.0, 0.0]] + [[e.time, e.lower, e.upper] for e in band],
        "censored": _censored(times, causes, fit.curve),
        "at_risk": [e.n_risk for e in fit.at[len(event_times) :]],
        "last": float(max(times, default=0)),
    }


def curve_series(rows_by_arm: dict, endpoint: str) -> dict:
    """A plot's series by arm letter: ``os`` (Kaplan-Meier) or ``primary``
    (Aalen-Johansen, whole follow-up). The time axis ends at the last
    follow-up time of any arm; numbers at risk are given at the
    ``RISK_TABLE_DAYS`` up to it."""
    key = "os_days" if endpoint == "os" else "failure_days"
    everyone = [r[key] for rows in rows_by_arm.values() for r in rows]
    xmax = float(max(everyone, default=0))
    risk_days = [d for d in settings.OUTCOMES["RISK_TABLE_DAYS"] if d <= xmax] or [0]
    curves = {}
    for label, rows in rows_by_arm.items():
        times = [r[key] for r in rows]
        if endpoint == "os":
            curves[label] = _km_curve(times, [r["os_event"] for r in rows], risk_days)
        else:
            causes = [r["failure_cause"] for r in rows]
            curves[label] = _cif_curve(times, causes, risk_days)
    return {"xmax": xmax, "risk_days": risk_days, "curves": curves}


def _km(rows, time_field, event_field, times):
    return stats.kaplan_meier(
        [r[time_field] for r in rows], [r[event_field] for r in rows], times
    )


def outcome_estimates(inputs: ReportInputs, groups: list[Group]) -> dict:
    """Raw estimates by group letter: primary CIF, OS, FFS, 30-day severe."""
    horizon = settings.OUTCOMES["PRIMARY_HORIZON_DAYS"]
    times = [day for _label, day in settings.OUTCOMES["SURVIVAL_TIMES"]]
    result = {"primary": {}, "os": {}, "ffs": {}, "severe_30d": {}}
    for group in groups:
        rows = group.rows(inputs.dataset.rows)
        cif = stats.cumulative_incidence(
            [r["failure_days"] for r in rows],
            [r["failure_cause"] for r in rows],
            PRIMARY_CAUSE_FAILURE,
            [horizon],
        )
        _days, causes = primary_truncated(rows)
        result["primary"][group.label] = {
            "n": cif.n,
            "events": causes.count(PRIMARY_CAUSE_FAILURE),
            "competing": sum(1 for c in causes if c not in (0, PRIMARY_CAUSE_FAILURE)),
            **_estimate_dict(cif.at[0]),
        }
        os_ = _km(rows, "os_days", "os_event", times)
        result["os"][group.label] = {
            "n": os_.n,
            "events": os_.events,
            "at": [_estimate_dict(e) for e in os_.at],
            "median": os_.median,
            "median_lower": os_.median_lower,
            "median_upper": os_.median_upper,
        }
        ffs = _km(rows, "ffs_days", "ffs_event", times)
        result["ffs"][group.label] = {
            "n": ffs.n,
            "events": ffs.events,
            "at": [_estimate_dict(e) for e in ffs.at],
        }
        evaluable = [r for r in rows if r["severe_30d"] is not None]
        severe = stats.proportion_ci(
            sum(r["severe_30d"] for r in evaluable), len(evaluable)
        )
        result["severe_30d"][group.label] = {
            "count": severe.count,
            "n": severe.n,
            "estimate": severe.estimate,
            "lower": severe.lower,
            "upper": severe.upper,
        }
    by_arm = {g.label: g.rows(inputs.dataset.rows) for g in groups if g.arm}
    result["curves"] = {
        "os": curve_series(by_arm, "os"),
        "primary": curve_series(by_arm, "primary"),
    }
    return result


def proms_section(inputs: ReportInputs, groups: list[Group]) -> dict:
    rows = inputs.dataset.rows
    tables = []
    for _field, prefix, text in SCORES:
        table = Table(f"{text}: mean (SD), n", ["Visit"] + [g.label for g in groups])
        for visit in score_visits():
            column = f"{prefix}_{visit}"
            table.add(
                visit, *(mean_sd_n([r[column] for r in g.rows(rows)]) for g in groups)
            )
        tables.append(table)
    return section("proms", "Patient-reported and functional outcomes by visit", tables)
