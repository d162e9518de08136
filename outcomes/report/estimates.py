"""Outcome estimates by arm for the closed report (PROTOCOL §10).

``outcome_estimates`` computes every estimate from the analysis dataset with
``outcomes.stats``; the JSON keeps the raw numbers (``estimates``) next to the
printed tables, so tests can recompute them from the dataset.
"""

from django.conf import settings

from outcomes import stats
from outcomes.derivation import SCORES, score_visits
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table, days_ci, estimate_ci, mean_sd_n
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


def _km(rows, time_field, event_field, times):
    return stats.kaplan_meier(
        [r[time_field] for r in rows], [r[event_field] for r in rows], times
    )


def outcome_estimates(inputs: ReportInputs, groups: list[Group]) -> dict:
    """Raw estimates by group letter: primary CIF, OS, FFS, 30-day severe."""
    horizon = settings.OUTCOMES["PRIMARY_HORIZON_DAYS"]
    times = [day for _label, day in settings.OUTCOMES["SURVIVAL_TIMES"]]
    risk_days = settings.OUTCOMES["RISK_TABLE_DAYS"]
    result = {"primary": {}, "os": {}, "ffs": {}, "severe_30d": {}, "curves": {}}
    for group in groups:
        rows = group.rows(inputs.dataset.rows)
        cif = stats.cumulative_incidence(
            [r["failure_days"] for r in rows],
            [r["failure_cause"] for r in rows],
            PRIMARY_CAUSE_FAILURE,
            [horizon, *risk_days],
        )
        result["primary"][group.label] = {
            "n": cif.n,
            "events": cif.events,
            "competing": cif.competing,
            **_estimate_dict(cif.at[0]),
        }
        os_ = _km(rows, "os_days", "os_event", [*times, *risk_days])
        result["os"][group.label] = {
            "n": os_.n,
            "events": os_.events,
            "at": [_estimate_dict(e) for e in os_.at[: len(times)]],
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
        result["curves"][group.label] = {
            "os": [list(point) for point in os_.curve],
            "os_at_risk": [e.n_risk for e in os_.at[len(times) :]],
            "primary": [list(point) for point in cif.curve],
            "primary_at_risk": [e.n_risk for e in cif.at[1:]],
        }
    return result


def _curve_groups(groups):
    return [g for g in groups if g.arm]


def outcomes_section(estimates: dict, groups: list[Group]) -> dict:
    horizon = settings.OUTCOMES["PRIMARY_HORIZON_DAYS"]
    survival_times = settings.OUTCOMES["SURVIVAL_TIMES"]
    primary = Table(
        f"Primary endpoint: treatment failure by day {horizon}, death as a "
        "competing event (Aalen-Johansen)",
        [
            "Arm",
            "N",
            "Failures",
            "Deaths before failure",
            "Cumulative incidence (95% CI)",
        ],
    )
    for group in groups:
        e = estimates["primary"][group.label]
        primary.add(
            group.label,
            e["n"],
            e["events"],
            e["competing"],
            estimate_ci(e["estimate"], e["lower"], e["upper"]),
        )
    tables = [primary]
    for key, title in (("os", "Overall survival"), ("ffs", "Failure-free survival")):
        table = Table(
            f"{title} (Kaplan-Meier, 95% CI log transform)",
            ["Arm", "N", "Events", *(label for label, _day in survival_times)]
            + (["Median, days (95% CI)"] if key == "os" else []),
        )
        for group in groups:
            e = estimates[key][group.label]
            cells = [
                estimate_ci(a["estimate"], a["lower"], a["upper"]) for a in e["at"]
            ]
            if key == "os":
                cells.append(days_ci(e["median"], e["median_lower"], e["median_upper"]))
            table.add(group.label, e["n"], e["events"], *cells)
        tables.append(table)
    severe = Table(
        "Severe complications within 30 days of surgery (death, Clavien-Dindo IIIb "
        "or worse, or reoperation)",
        ["Arm", "Events / evaluable", "Proportion (Wilson 95% CI)"],
    )
    for group in groups:
        e = estimates["severe_30d"][group.label]
        severe.add(
            group.label,
            f"{e['count']} / {e['n']}",
            estimate_ci(e["estimate"], e["lower"], e["upper"]),
        )
    tables.append(severe)
    risk_days = settings.OUTCOMES["RISK_TABLE_DAYS"]
    for key, title in (("os", "overall survival"), ("primary", "treatment failure")):
        risk = Table(
            f"Numbers at risk, {title}",
            ["Arm", *(f"Day {day}" for day in risk_days)],
        )
        for group in _curve_groups(groups):
            risk.add(group.label, *estimates["curves"][group.label][f"{key}_at_risk"])
        tables.append(risk)
    return section(
        "outcomes",
        "Outcomes by arm",
        tables,
        figures=["km_os", "cif_primary"],
    )


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
