"""Comparisons between arms in the closed report (PROTOCOL §10–11).

Arm letters in order: the first (A) is the reference, the second (B) the
comparison, so every hazard ratio, difference and signed Z reads "B against
A" (Z > 0: more failures on B). The statistics are ``outcomes.compare`` and
``outcomes.boundary`` (checked against R); this module only chooses the data
and prints the results:

* primary endpoint (censored at the horizon, ``estimates.primary_truncated``):
  Gray's test, cause-specific Cox hazard ratio, failures by component;
* interim monitoring: the Lan-DeMets O'Brien-Fleming boundary at the earlier
  released looks and this one, the observed Z and whether it crosses;
* overall and failure-free survival: log-rank test and Cox hazard ratio;
* 30-day severe complications: difference in proportions, Newcombe 95% CI.

A comparison that cannot be made (one arm only, no events) prints its reason
instead of a number.
"""

from django.conf import settings

from outcomes import boundary, compare
from outcomes.inputs import ReportInputs
from outcomes.report.estimates import PRIMARY_CAUSE_FAILURE, primary_truncated
from outcomes.report.fmt import NA, Table, days_ci, estimate_ci
from outcomes.report.sections import Group, section

COMPONENTS = [
    ("reoperation", "Reoperation"),
    ("implant_failure", "Implant failure"),
    ("local_progression", "Local recurrence or progression"),
]


def _arms(groups: list[Group]) -> list[Group]:
    return [g for g in groups if g.arm]


def _coded(inputs: ReportInputs, groups: list[Group]):
    """Rows of the two arms and their group code (0 = A, 1 = B)."""
    arms = _arms(groups)
    rows, codes = [], []
    for code, group in enumerate(arms[:2]):
        mine = group.rows(inputs.dataset.rows)
        rows += mine
        codes += [code] * len(mine)
    return rows, codes


def _as_dict(result) -> dict:
    return {k: v for k, v in vars(result).items()}


def comparisons(inputs: ReportInputs, groups: list[Group], looks: list[dict]) -> dict:
    """Raw results of every comparison (the JSON keeps them)."""
    rows, codes = _coded(inputs, groups)
    days, causes = primary_truncated(rows)
    events = [1 if c == PRIMARY_CAUSE_FAILURE else 0 for c in causes]
    gray = compare.gray_test(days, causes, codes, PRIMARY_CAUSE_FAILURE)
    result = {
        "primary_gray": _as_dict(gray),
        "primary_hr": _as_dict(compare.cox_hazard_ratio(days, events, codes)),
    }
    for key, time, event in (
        ("os", "os_days", "os_event"),
        ("ffs", "ffs_days", "ffs_event"),
    ):
        t = [r[time] for r in rows]
        e = [r[event] for r in rows]
        result[f"{key}_logrank"] = _as_dict(compare.logrank(t, e, codes))
        result[f"{key}_hr"] = _as_dict(compare.cox_hazard_ratio(t, e, codes))
    counts = []
    for code in (1, 0):  # B, then A: the difference is B - A
        evaluable = [
            r["severe_30d"]
            for r, c in zip(rows, codes, strict=True)
            if c == code and r["severe_30d"] is not None
        ]
        counts += [sum(evaluable), len(evaluable)]
    result["severe_difference"] = _as_dict(compare.proportion_difference(*counts))
    result["monitoring"] = monitoring(sum(events), gray.z, looks)
    return result


def monitoring(observed_events: int, z: float | None, looks: list[dict]) -> dict:
    """The boundary at the earlier released looks and at this one."""
    config = settings.OUTCOMES["MONITORING"]
    planned = config["PLANNED_EVENTS"]
    information = observed_events / planned
    capped = min(information, 1.0)  # more events than planned: the final look
    earlier = [look for look in looks if 0 < look["information"] < capped]
    fractions = [look["information"] for look in earlier] + [capped]
    table = []
    if information > 0:
        bounds = boundary.obf_boundaries(fractions, alpha=config["ALPHA"])
        for look, bound in zip([*earlier, None], bounds, strict=True):
            observed = look["z"] if look else z
            table.append(
                {
                    "cutoff": look["cutoff"] if look else None,
                    "events": look["events"] if look else observed_events,
                    "information": float(bound.information),
                    "z_boundary": float(bound.z),
                    "nominal_p": float(bound.nominal_p),
                    "cumulative_alpha": float(bound.cumulative_alpha),
                    "z_observed": observed,
                    "crossed": bool(
                        observed is not None and boundary.crossed(observed, bound)
                    ),
                    "recommendation": look["recommendation"] if look else "",
                }
            )
    current = table[-1] if table else None
    return {
        "planned_events": planned,
        "observed_events": observed_events,
        "information": information,
        "alpha": config["ALPHA"],
        "z_observed": z,
        "z_boundary": current["z_boundary"] if current else None,
        "crossed": bool(current and current["crossed"]),
        "looks": table,
        "ignored_looks": len(looks) - len(earlier),
    }


def p_value(p: float | None) -> str:
    if p is None:
        return NA
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def small(p: float) -> str:
    """A small probability: 5 decimals, or 2 significant digits below 0.001."""
    return f"{p:.5f}" if p >= 0.001 else f"{p:.2g}"


def z_text(z: float | None) -> str:
    return NA if z is None else f"{z:+.2f}"


def hr_text(hr: dict) -> str:
    if hr["hr"] is None:
        return f"not estimable ({hr['reason']})"
    return f"{hr['hr']:.2f} ({hr['lower']:.2f} to {hr['upper']:.2f})"


def chi_text(test: dict) -> str:
    if test["statistic"] is None:
        return f"not computable ({test['reason']})"
    return f"chi-square {test['statistic']:.2f}, p = {p_value(test['p_value'])}"


def primary_section(estimates: dict, result: dict, groups: list[Group], inputs) -> dict:
    horizon = settings.OUTCOMES["PRIMARY_HORIZON_DAYS"]
    primary = Table(
        f"Primary endpoint: treatment failure within {horizon} days, death as a "
        "competing event (Aalen-Johansen)",
        [
            "Arm",
            "N",
            f"Failures by day {horizon}",
            f"Deaths before failure by day {horizon}",
            f"Cumulative incidence at day {horizon} (95% CI)",
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
    tests = Table("Comparison of the arms (B against A)", ["Test", "Result"])
    gray = result["primary_gray"]
    tests.add("Gray's test", chi_text(gray))
    tests.add("Observed Z (signed square root of Gray's statistic)", z_text(gray["z"]))
    tests.add(
        "Cause-specific hazard ratio of failure (Cox, Efron ties; 95% CI)",
        hr_text(result["primary_hr"]),
    )
    components = Table(
        f"Failures by component (first failure within {horizon} days)",
        ["Component", *(g.label for g in groups)],
    )
    failed = {
        g.label: [
            r
            for r in g.rows(inputs.dataset.rows)
            if r["failure_cause"] == PRIMARY_CAUSE_FAILURE
            and r["failure_days"] <= horizon
        ]
        for g in groups
    }
    for value, label in COMPONENTS:
        components.add(
            label,
            *(
                sum(1 for r in failed[g.label] if r["first_failure_type"] == value)
                for g in groups
            ),
        )
    components.add("Any failure", *(len(failed[g.label]) for g in groups))
    return section(
        "primary",
        "Primary endpoint by arm",
        [primary, tests, components],
        figures=["cif_primary"],
    )


def monitoring_section(result: dict) -> dict:
    m = result["monitoring"]
    config = settings.OUTCOMES["MONITORING"]
    table = Table(
        "Interim monitoring boundary (Lan-DeMets O'Brien-Fleming, two-sided "
        f"alpha {m['alpha']})",
        [
            "Look",
            "Data cut-off",
            "Primary events",
            "Information fraction",
            "Boundary |Z|",
            "Nominal p",
            "Alpha spent",
            "Observed Z",
            "Crossed",
            "DSMB recommendation",
        ],
    )
    for n, look in enumerate(m["looks"], start=1):
        table.add(
            n,
            look["cutoff"] or "this report",
            look["events"],
            f"{look['information']:.3f}",
            f"{look['z_boundary']:.3f}",
            small(look["nominal_p"]),
            small(look["cumulative_alpha"]),
            z_text(look["z_observed"]),
            "Yes" if look["crossed"] else "No",
            look["recommendation"] or ("(this meeting)" if not look["cutoff"] else "-"),
        )
    text = [
        f"Information: {m['observed_events']} of {m['planned_events']} planned primary "
        f"events ({100 * m['information']:.1f}%). Planned looks at "
        + ", ".join(f"{100 * t:.0f}%" for t in config["LOOKS"])
        + " of the information.",
        (
            f"Observed Z {z_text(m['z_observed'])} against the boundary "
            f"±{m['z_boundary']:.3f}: "
            + ("the boundary IS crossed." if m["crossed"] else "not crossed.")
        )
        if m["z_boundary"] is not None
        else "No primary events yet: no boundary.",
        "Charter: " + config["CHARTER"],
    ]
    if m["ignored_looks"]:
        text.append(
            f"{m['ignored_looks']} earlier released look(s) at the same or higher "
            "information are not counted as separate looks."
        )
    return section("monitoring", "Interim monitoring", [table], text)


def secondary_section(estimates: dict, result: dict, groups: list[Group]) -> dict:
    survival_times = settings.OUTCOMES["SURVIVAL_TIMES"]
    tables = []
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
    tests = Table(
        "Comparison of the arms (B against A)",
        ["Endpoint", "Log-rank test", "Hazard ratio (Cox, Efron ties; 95% CI)"],
    )
    for key, title in (("os", "Overall survival"), ("ffs", "Failure-free survival")):
        tests.add(
            title, chi_text(result[f"{key}_logrank"]), hr_text(result[f"{key}_hr"])
        )
    tables.append(tests)
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
    d = result["severe_difference"]
    severe.add(
        "B - A",
        "",
        NA
        if d["estimate"] is None
        else f"{100 * d['estimate']:+.1f} points ({100 * d['lower']:+.1f} to "
        f"{100 * d['upper']:+.1f}; Newcombe 95% CI)",
    )
    tables.append(severe)
    return section("secondary", "Secondary outcomes by arm", tables, figures=["km_os"])
