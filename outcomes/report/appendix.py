"""The data-issues appendix of both reports (PROTOCOL §11): every inconsistency
the derivation had to resolve, as ``outcomes.data_issues.events_screened``
found it, with how it entered the endpoints. Participant-level but without
arms, so the open report carries it as it is."""

from collections import Counter

from outcomes.data_issues import HANDLING, ISSUE_LABELS
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table
from outcomes.report.sections import section


def data_issues(inputs: ReportInputs) -> dict:
    issues = inputs.dataset.data_issues
    by_kind = Counter(issue["issue"] for issue in issues)
    summary = Table("Data issues by kind", ["Issue", "Handling", "Count"])
    for kind, label in ISSUE_LABELS.items():  # every kind, even when none
        summary.add(label, HANDLING[kind], by_kind[kind])
    summary.add("Any", "", len(issues))
    listing = Table(
        "Listing of data issues",
        [
            "Study ID",
            "Site",
            "Issue",
            "Form and field",
            "Date",
            "Compared with",
            "Its date",
        ],
    )
    for issue in issues:
        listing.add(
            issue["study_id"],
            issue["site"],
            ISSUE_LABELS[issue["issue"]],
            issue["source"],
            issue["date"],
            issue["compared_with"],
            issue["compared_date"] or "-",
        )
    participants = len({issue["study_id"] for issue in issues})
    text = [
        f"{_count(len(issues), 'data issue')} in "
        f"{_count(participants, 'participant')}, as of the "
        "data cut-off. Each is handled as shown (PROTOCOL §10) and should be "
        "resolved by a data query to the site.",
        "Participants who withdrew and refused the use of their data before "
        "this report was generated, whatever the cut-off, left out of every "
        f"table: {inputs.dataset.excluded_no_data_use}.",
    ]
    appendix = section(
        "data_issues", "Appendix C: data issues", [summary, listing], text
    )
    appendix["new_page"] = appendix["appendix"] = (
        True  # the PDF starts appendices on a page of their own
    )
    return appendix


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
