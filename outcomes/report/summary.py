"""The one-page executive summary at the front of both reports (DAMOCLES).

Built last, from the numbers the sections print (the same formatted strings
from the same dicts), so the summary and the sections cannot disagree:
accrual against target and its projection, follow-up and data currency, and
in the closed report the primary endpoint by arm with Gray's test, the hazard
ratio and the monitoring boundary; then the main safety signals by group.
"""

from outcomes.inputs import ReportInputs
from outcomes.report import safety
from outcomes.report.comparisons import chi_text, hr_text, z_text
from outcomes.report.fmt import NA, Table, days_ci, estimate_ci, pct
from outcomes.report.sections import Group, section


def executive_summary(
    inputs: ReportInputs,
    groups: list[Group],
    *,
    pace: dict,
    medians: dict,
    currency: dict,
    estimates: dict | None = None,
    result: dict | None = None,
) -> dict:
    labels = [g.label for g in groups]
    blanks = [""] * (len(groups) - 1)
    table = Table("At a glance", ["", *labels])
    table.add(
        "Randomized (target)",
        *blanks,
        f"{pace['randomized']} of {pace['target']} "
        f"({pct(pace['randomized'] / pace['target'])})",
    )
    table.add(
        "Target reached at the recent rate",
        *blanks,
        pace["projected_target_date"] or "no projection",
    )
    table.add(
        "Analysed",
        *(len(g.rows(inputs.dataset.rows)) for g in groups),
    )
    table.add(
        "Median follow-up, days (95% CI)",
        *(
            days_ci(
                medians[label]["median"],
                medians[label]["lower"],
                medians[label]["upper"],
            )
            for label in labels
        ),
    )
    share = currency["All"]["share"]
    table.add(
        "Expected follow-up forms received",
        *blanks,
        NA if share is None else pct(share),
    )
    text = []
    if estimates is not None and result is not None:
        primary = estimates["primary"]
        table.add(
            "Primary: failures within the horizon",
            *(primary[label]["events"] for label in labels),
        )
        table.add(
            "Primary: cumulative incidence (95% CI)",
            *(
                estimate_ci(
                    primary[label]["estimate"],
                    primary[label]["lower"],
                    primary[label]["upper"],
                )
                for label in labels
            ),
        )
        table.add(
            "Gray's test (B against A)", *blanks, chi_text(result["primary_gray"])
        )
        table.add(
            "Cause-specific hazard ratio, B/A", *blanks, hr_text(result["primary_hr"])
        )
        m = result["monitoring"]
        table.add(
            "Observed Z / boundary",
            *blanks,
            f"{z_text(m['z_observed'])} / "
            + ("n/a" if m["z_boundary"] is None else f"±{m['z_boundary']:.3f}"),
        )
        table.add(
            "Information fraction",
            *blanks,
            f"{100 * m['information']:.1f}% ({m['observed_events']} of "
            f"{m['planned_events']} events)",
        )
        text.append(
            "The monitoring boundary IS crossed: see Interim monitoring."
            if m["crossed"]
            else "The monitoring boundary is not crossed."
        )
    for row in safety.signals(inputs, groups):
        table.add(*row)
    text.append(
        "Counts are events (participants). Every number here is printed again "
        "in the section it comes from."
    )
    summary = section("summary", "Executive summary", [table], text)
    summary["new_page"] = True
    return summary
