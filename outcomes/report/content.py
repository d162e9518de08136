"""A report's content: every section, table, figure series and estimate, as a
JSON-ready dict. The PDF is drawn from this dict and nothing else, and the
``--json`` file of ``manage.py dsmb_report`` is this dict, so the two always
print the same numbers."""

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from outcomes.inputs import ReportInputs
from outcomes.report import comparisons, flow, followup, safety, sections
from outcomes.report.appendix import data_issues
from outcomes.report.estimates import outcome_estimates, proms_section
from outcomes.report.sections import Group
from outcomes.report.summary import executive_summary

OPEN, CLOSED = "open", "closed"


def arm_letters() -> dict[str, str]:
    """Arm code → letter of the closed report (``OUTCOMES['ARM_LETTERS']``)."""
    letters = settings.OUTCOMES["ARM_LETTERS"]
    arms = [code for code, _label in settings.RANDOMIZATION["ARMS"]]
    if sorted(letters) != sorted(arms) or len(set(letters.values())) != len(arms):
        raise ImproperlyConfigured(
            "OUTCOMES['ARM_LETTERS'] must give each arm of RANDOMIZATION['ARMS'] "
            "its own letter."
        )
    return dict(letters)


def report_groups(kind: str) -> list[Group]:
    """Columns of the report: pooled for open; each arm's letter and the total
    for closed (arms in letter order)."""
    if kind == OPEN:
        return [Group("All", None)]
    letters = arm_letters()
    by_letter = sorted((letter, code) for code, letter in letters.items())
    return [Group(letter, code) for letter, code in by_letter] + [Group("Total", None)]


def report_content(
    inputs: ReportInputs,
    *,
    kind: str,
    generated_at: datetime.datetime,
    dataset_sha256: str,
    progress=lambda percent, stage: None,
) -> dict:
    """Everything the report prints, for data cut-off ``inputs.cutoff``.

    Order (PROTOCOL §11, DAMOCLES): executive summary; recruitment; CONSORT
    flow; baseline; follow-up and data currency; queries; deviations; in the
    closed report the primary endpoint, interim monitoring, secondary
    outcomes and PROMs by arm; safety; then the appendices (SAE and death
    listings, data issues). The open report has the same structure, pooled,
    without the sections by arm.
    """
    if kind not in (OPEN, CLOSED):
        raise ValueError(f"Unknown report kind {kind!r}: use open or closed.")
    groups = report_groups(kind)
    letters = arm_letters() if kind == CLOSED else {}
    pace = flow.accrual(inputs)
    medians = followup.median_follow_up(inputs, groups)
    currency = followup.data_currency(inputs)
    consort_flow = flow.consort_flow(inputs, groups)
    body = [
        flow.recruitment(inputs, groups, pace),
        flow.consort(consort_flow),
        sections.baseline(inputs, groups),
        followup.follow_up(inputs, groups, medians, currency),
        sections.queries(inputs, groups),
        sections.deviations(inputs, groups),
    ]
    figures = {
        "recruitment": flow.recruitment_series(inputs, pace),
        "consort": consort_flow,
    }
    content = {
        "kind": kind,
        "title": f"{settings.TRIAL['NAME']} DSMB {kind} report",
        "registration": settings.TRIAL["REGISTRATION"],
        "cutoff": inputs.cutoff.isoformat(),
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "platform_version": settings.PLATFORM_VERSION,
        "dataset_sha256": dataset_sha256,
        "participants": len(inputs.dataset.rows),
        "settings": {
            "primary_horizon_days": settings.OUTCOMES["PRIMARY_HORIZON_DAYS"],
            "survival_times": settings.OUTCOMES["SURVIVAL_TIMES"],
            "risk_table_days": settings.OUTCOMES["RISK_TABLE_DAYS"],
            "monitoring": {
                k: v
                for k, v in settings.OUTCOMES["MONITORING"].items()
                if k != "CHARTER"
            },
        },
        "accrual": pace,
        "follow_up": {"median": medians, "currency": currency},
    }
    estimates = result = None
    if kind == CLOSED:
        progress(45, "Estimating outcomes by arm")
        estimates = outcome_estimates(inputs, groups)
        progress(55, "Comparing the arms")
        result = comparisons.comparisons(inputs, groups, inputs.looks)
        body += [
            comparisons.primary_section(estimates, result, groups, inputs),
            comparisons.monitoring_section(result),
            comparisons.secondary_section(estimates, result, groups),
            proms_section(inputs, groups),
        ]
        figures["km_os"] = estimates["curves"]["os"]
        figures["cif_primary"] = estimates["curves"]["primary"]
        content["estimates"] = estimates
        content["comparisons"] = result
        labels = dict(settings.RANDOMIZATION["ARMS"])
        content["arm_key"] = [
            {"letter": g.label, "code": g.arm, "label": labels[g.arm]}
            for g in groups
            if g.arm
        ]
    body += [
        safety.safety(inputs, groups),
        safety.sae_listing(inputs, groups, letters),
        safety.death_listing(inputs, groups, letters),
        data_issues(inputs),
    ]
    summary = executive_summary(
        inputs,
        groups,
        pace=pace,
        medians=medians,
        currency=currency,
        estimates=estimates,
        result=result,
    )
    body.insert(0, summary)
    content["data_issues"] = len(inputs.dataset.data_issues)
    content["excluded_no_data_use"] = inputs.dataset.excluded_no_data_use
    numbered = [item for item in body if not item.get("appendix")]
    for number, item in enumerate(numbered, start=1):
        item["number"] = number
    content["sections"] = body
    content["figures"] = figures
    return content
