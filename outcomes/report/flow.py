"""Recruitment (accrual against target, with a projection) and the CONSORT
participant flow of both reports (PROTOCOL §11).

``consort_flow`` gives the numbers of the flow diagram (drawn by
``outcomes.report.diagram``) and the same numbers as a table, so the diagram
can be checked against it. The projection extends the mean monthly rate of the
last ``OUTCOMES['PROJECTION_MONTHS']`` months to the target: a plain linear
extrapolation, stated as such in the report.
"""

import datetime
import math
from collections import Counter

from django.conf import settings

from crf.schedule.visits import DONE, visit_definitions, visit_labels
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table, pct
from outcomes.report.sections import Group, section
from perform.models import ParticipantStatus


def _month_end(day: datetime.date) -> datetime.date:
    next_month = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return next_month - datetime.timedelta(days=1)


def accrual(inputs: ReportInputs) -> dict:
    """Randomized so far, the recent monthly rate and the projected date the
    target is reached at that rate (None when the rate is 0)."""
    target = settings.TRIAL["TARGET_ENROLMENT"]
    start = datetime.date.fromisoformat(settings.TRIAL["RECRUITMENT_START"])
    months = settings.OUTCOMES["PROJECTION_MONTHS"]
    randomized = len(inputs.dataset.rows) + inputs.dataset.excluded_no_data_use
    window_start = max(
        start, inputs.cutoff - datetime.timedelta(days=round(30.4375 * months))
    )
    window_days = max(1, (inputs.cutoff - window_start).days + 1)
    recent = sum(
        1 for r in inputs.dataset.rows if r["randomization_date"] >= window_start
    )
    rate = recent / window_days * 30.4375
    remaining = max(0, target - randomized)
    projected = None
    if remaining == 0:
        projected = inputs.cutoff
    elif rate > 0:
        projected = inputs.cutoff + datetime.timedelta(
            days=math.ceil(remaining / rate * 30.4375)
        )
    return {
        "target": target,
        "randomized": randomized,
        "rate_per_month": round(rate, 2),
        "rate_window_start": window_start.isoformat(),
        "projected_target_date": projected.isoformat() if projected else None,
        "planned_end": settings.OUTCOMES["RECRUITMENT_END"],
    }


def recruitment(inputs: ReportInputs, groups: list[Group], pace: dict) -> dict:
    rows = inputs.dataset.rows
    target = pace["target"]
    screened = Counter(r["site"] for r in inputs.screening)
    by_site = Table(
        "Recruitment by site",
        ["Site", "Activated", "Target", "Screened", "Randomized", "% of target"]
        + [f"Arm {g.label}" for g in groups if g.arm],
    )
    for site in inputs.sites:
        code = site["site"]
        site_rows = [r for r in rows if r["site"] == code]
        by_site.add(
            code,
            site["activation_date"] or "not active",
            site["target_enrolment"],
            screened[code],
            len(site_rows),
            pct(len(site_rows) / site["target_enrolment"])
            if site["target_enrolment"]
            else "n/a",
            *(len(g.rows(site_rows)) for g in groups if g.arm),
        )
    by_site.add(
        "All",
        "",
        target,
        len(inputs.screening),
        len(rows),
        pct(len(rows) / target),
        *(len(g.rows(rows)) for g in groups if g.arm),
    )
    refused = inputs.dataset.excluded_no_data_use
    if refused:
        by_site.note = (
            f"Randomized excludes the {refused} participant(s) who withdrew and "
            "refused the use of their data; the text above counts them."
        )
    projected = pace["projected_target_date"]
    text = [
        f"{pace['randomized']} participants randomized by the cut-off, "
        f"{pct(pace['randomized'] / target)} of the target of {target}.",
        f"Recent rate: {pace['rate_per_month']:.1f} per month (since "
        f"{pace['rate_window_start']}). "
        + (
            f"At this rate the target is reached on about {projected} "
            f"(planned end of recruitment {pace['planned_end']})."
            if projected
            else "No recent randomizations: no projection."
        ),
    ]
    return section(
        "recruitment", "Recruitment", [by_site], text, figures=["recruitment"]
    )


def recruitment_series(inputs: ReportInputs, pace: dict) -> dict:
    """Cumulative randomizations by month, the linear target, and the
    projection from the cut-off at the recent rate, for the plot."""
    start = datetime.date.fromisoformat(settings.TRIAL["RECRUITMENT_START"])
    end = datetime.date.fromisoformat(settings.OUTCOMES["RECRUITMENT_END"])
    target = pace["target"]
    dates = sorted(r["randomization_date"] for r in inputs.dataset.rows)
    months, actual = [], []
    month = start.replace(day=1)
    while month <= inputs.cutoff:
        month_end = min(_month_end(month), inputs.cutoff)
        months.append(month_end.isoformat())
        actual.append(sum(1 for d in dates if d <= month_end))
        month = _month_end(month) + datetime.timedelta(days=1)
    projected = pace["projected_target_date"]
    projection = []
    if projected and actual:
        projection = [[inputs.cutoff.isoformat(), actual[-1]], [projected, target]]
    return {
        "dates": months,
        "randomized": actual,
        "target": [[start.isoformat(), 0], [end.isoformat(), target]],
        "projection": projection,
    }


def consort_flow(inputs: ReportInputs, groups: list[Group]) -> dict:
    """The numbers of the flow diagram: screening, exclusions, randomization,
    then per column (arm or pooled) allocation, follow-up and analysis."""
    rows = inputs.dataset.rows
    status = Counter(r["status"] for r in inputs.screening)
    randomized = len(rows) + inputs.dataset.excluded_no_data_use
    ineligible = status[ParticipantStatus.INELIGIBLE]
    declined = status[ParticipantStatus.DECLINED]
    last_visit = visit_definitions()[-1].code
    completed = {
        v["study_id"]
        for v in inputs.visits
        if v["visit"] == last_visit and v["state"] == DONE
    }
    columns = []
    for group in [g for g in groups if g.arm] or groups:
        mine = group.rows(rows)
        operated = [r for r in mine if r["surgery_date"] is not None]
        columns.append(
            {
                "label": group.label,
                "allocated": len(mine),
                "received": sum(1 for r in operated if r["procedure"] == r["arm"]),
                "other_procedure": sum(
                    1 for r in operated if r["procedure"] != r["arm"]
                ),
                "not_operated": len(mine) - len(operated),
                "died": sum(1 for r in mine if r["os_event"] == 1),
                "withdrew": sum(1 for r in mine if r["withdrawal_kind"] == "withdrawn"),
                "lost": sum(
                    1 for r in mine if r["withdrawal_kind"] == "lost_to_follow_up"
                ),
                "completed": sum(1 for r in mine if r["study_id"] in completed),
                "analysed": len(mine),
            }
        )
    return {
        "screened": len(inputs.screening),
        "ineligible": ineligible,
        "declined": declined,
        "not_yet_randomized": len(inputs.screening)
        - ineligible
        - declined
        - randomized,
        "randomized": randomized,
        "excluded_no_data_use": inputs.dataset.excluded_no_data_use,
        "last_visit": visit_labels()[last_visit],
        "columns": columns,
    }


CONSORT_ROWS = [
    ("allocated", "Allocated"),
    ("received", "Received the allocated procedure"),
    ("other_procedure", "Received another procedure"),
    ("not_operated", "Not operated by the cut-off"),
    ("died", "Died"),
    ("withdrew", "Withdrew consent"),
    ("lost", "Lost to follow-up"),
    ("completed", "Completed the last visit"),
    ("analysed", "Analysed"),
]


def consort(flow: dict) -> dict:
    table = Table(
        "Participant flow (the numbers of the diagram)",
        ["Stage", *(c["label"] for c in flow["columns"])],
    )
    blanks = [""] * (len(flow["columns"]) - 1)
    for key, label in (
        ("screened", "Assessed for eligibility (screened)"),
        ("ineligible", "  Ineligible"),
        ("declined", "  Declined consent"),
        ("not_yet_randomized", "  Not randomized by the cut-off"),
        ("randomized", "Randomized"),
        ("excluded_no_data_use", "  Withdrew, data use not permitted (left out)"),
    ):
        table.add(label, *blanks, flow[key])
    for key, label in CONSORT_ROWS:
        if key == "completed":
            label = f"Completed the {flow['last_visit']} visit"
        table.add(label, *(c[key] for c in flow["columns"]))
    return section(
        "consort", "Participant flow (CONSORT)", [table], figures=["consort"]
    )
