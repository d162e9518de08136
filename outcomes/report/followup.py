"""Follow-up and data currency (PROTOCOL §10–11), in both reports.

* Median follow-up by the reverse Kaplan-Meier method (Schemper and Smith,
  1996): overall-survival times with the roles of death and censoring swapped
  (``outcomes.compare.median_follow_up``), by group.
* Data currency: of the follow-up forms expected by the cut-off (visit
  windows closed, or visits done), the share received, by site; then the
  completeness and timeliness tables by site and visit
  (``sections.completeness``).
"""

from collections import Counter

from crf.schedule.visits import DONE, MISSED, OVERDUE
from outcomes import compare
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import NA, Table, days_ci, pct
from outcomes.report.sections import Group, completeness, section


def median_follow_up(inputs: ReportInputs, groups: list[Group]) -> dict:
    """Group label → {median, lower, upper, n} (days; None when not reached)."""
    result = {}
    for group in groups:
        rows = group.rows(inputs.dataset.rows)
        fit = compare.median_follow_up(
            [r["os_days"] for r in rows], [r["os_event"] for r in rows]
        )
        result[group.label] = {
            "n": len(rows),
            "median": fit.median,
            "lower": fit.lower,
            "upper": fit.upper,
        }
    return result


def data_currency(inputs: ReportInputs) -> dict:
    """Site code (and "All") → expected, received and their share."""
    expected = Counter()
    received = Counter()
    for visit in inputs.visits:
        if visit["state"] in (DONE, MISSED, OVERDUE):
            for key in (visit["site"], "All"):
                expected[key] += 1
                received[key] += visit["state"] == DONE
    return {
        key: {
            "expected": expected[key],
            "received": received[key],
            "share": received[key] / expected[key] if expected[key] else None,
        }
        for key in [s["site"] for s in inputs.sites] + ["All"]
    }


def follow_up(
    inputs: ReportInputs, groups: list[Group], medians: dict, currency: dict
) -> dict:
    fu = Table(
        "Median follow-up (reverse Kaplan-Meier), days",
        ["Group", "Participants", "Median follow-up (95% CI)"],
    )
    for group in groups:
        m = medians[group.label]
        fu.add(group.label, m["n"], days_ci(m["median"], m["lower"], m["upper"]))
    current = Table(
        "Data currency: expected follow-up forms received by the cut-off",
        ["Site", "Expected", "Received", "Share received"],
    )
    for key, c in currency.items():
        current.add(
            key,
            c["expected"],
            c["received"],
            NA if c["share"] is None else pct(c["share"]),
        )
    current.note = (
        "Expected: forms whose visit window closed by the cut-off, or visits "
        "done. Missed and overdue visits count as not received."
    )
    detail = completeness(inputs, groups)
    everyone = medians[groups[-1].label]
    share = currency["All"]["share"]
    text = [
        "Median follow-up "
        + days_ci(everyone["median"], everyone["lower"], everyone["upper"])
        + f" days; {NA if share is None else pct(share)} of the expected "
        "follow-up forms received."
    ]
    return section(
        "follow_up",
        "Follow-up and data currency",
        [fu, current],
        text,
    ) | {"tables": [fu.as_dict(), current.as_dict(), *detail["tables"]]}
