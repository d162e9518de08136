"""Follow-up and data currency (PROTOCOL §10–11), in both reports.

* Median follow-up by the reverse Kaplan-Meier method (Schemper and Smith,
  1996): overall-survival times with the roles of death and censoring swapped
  (``outcomes.compare.median_follow_up``), by group.
* Data currency: of the follow-up forms expected by the cut-off (visit
  windows closed, or visits done), the share received, by site; then the
  completeness and timeliness tables by site and visit
  (``sections.completeness``).
* Patient-reported outcome completion: the questionnaires answered of those
  expected, by site and visit, pooled in both reports (the definition is
  ``crf.epro.completion``'s, the data-quality view's), then by mode.
"""

from collections import Counter

from crf.epro.completion import MODES, Completion, CompletionTable
from crf.epro.windows import survey_visit_labels
from crf.models import ResponseMode
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


def prom_completion_table(inputs: ReportInputs) -> CompletionTable:
    """The report's completion rows as a ``CompletionTable`` (totals are sums
    of its cells)."""
    cells = {
        (row["site"], row["visit"]): Completion(
            expected=row["expected"],
            completed=row["completed"],
            by_mode=tuple((mode, row[mode]) for mode in MODES),
            open_now=row["open_now"],
        )
        for row in inputs.prom_completion
    }
    return CompletionTable(
        sites=[s["site"] for s in inputs.sites],
        visits=list(survey_visit_labels().items()),
        cells=cells,
        as_of=inputs.cutoff,
    )


def prom_completion(completion: CompletionTable) -> list[Table]:
    by_visit = Table(
        "Patient-reported outcome completion by site and visit",
        ["Site", *(label for _code, label in completion.visits), "All visits"],
    )
    for row in completion.rows():
        by_visit.add(
            row["site"], *(c.label for _code, c in row["cells"]), row["total"].label
        )
    by_visit.add(
        "All sites",
        *(c.label for c in completion.visit_totals),
        completion.total.label,
    )
    by_visit.note = (
        "Questionnaires (TESS, EQ-5D-5L, BPI) submitted / expected (rate). "
        "Expected: visits whose window closed by the cut-off, answered, or "
        "recorded as missed, of operated participants; not after death or "
        "withdrawal before the window closed. Windows still open are not "
        "counted (see Open now). —: none expected."
    )
    modes = dict(ResponseMode.choices)
    # Submitted = the sum of the modes; open now is outside both counts.
    by_mode = Table(
        "Patient-reported outcome completion by site and mode",
        ["Site", "Expected", "Submitted", *(modes[m] for m in MODES), "Open now"],
    )
    totals = [(row["site"], row["total"]) for row in completion.rows()]
    for site, c in [*totals, ("All sites", completion.total)]:
        by_mode.add(
            site,
            c.expected,
            c.completed,
            *(c.mode(m) for m in MODES),
            c.open_now,
        )
    return [by_visit, by_mode]


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
    completion = prom_completion_table(inputs)
    proms = prom_completion(completion)
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
    ) | {
        "tables": [
            fu.as_dict(),
            current.as_dict(),
            *detail["tables"],
            *(table.as_dict() for table in proms),
        ]
    }
