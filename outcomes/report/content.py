"""A report's content: every section, table, figure series and estimate, as a
JSON-ready dict. The PDF is drawn from this dict and nothing else, and the
``--json`` file of ``manage.py dsmb_report`` is this dict, so the two always
print the same numbers."""

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from outcomes.inputs import ReportInputs
from outcomes.report import sections
from outcomes.report.appendix import data_issues
from outcomes.report.estimates import outcome_estimates, outcomes_section, proms_section
from outcomes.report.sections import Group

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
    """Everything the report prints, for data cut-off ``inputs.cutoff``."""
    if kind not in (OPEN, CLOSED):
        raise ValueError(f"Unknown report kind {kind!r}: use open or closed.")
    groups = report_groups(kind)
    letters = arm_letters() if kind == CLOSED else {}
    body = [
        sections.recruitment(inputs, groups),
        sections.consort(inputs, groups),
        sections.baseline(inputs, groups),
        sections.completeness(inputs, groups),
        sections.queries(inputs, groups),
        sections.deviations(inputs, groups),
        sections.saes(inputs, groups, letters),
        sections.deaths(inputs, groups, letters),
    ]
    figures = {"recruitment": sections.recruitment_series(inputs)}
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
        },
    }
    if kind == CLOSED:
        progress(45, "Estimating outcomes by arm")
        estimates = outcome_estimates(inputs, groups)
        body.append(outcomes_section(estimates, groups))
        body.append(proms_section(inputs, groups))
        arm_groups = [g for g in groups if g.arm]
        figures["km_os"] = {
            g.label: estimates["curves"][g.label]["os"] for g in arm_groups
        }
        figures["cif_primary"] = {
            g.label: estimates["curves"][g.label]["primary"] for g in arm_groups
        }
        content["estimates"] = estimates
        labels = dict(settings.RANDOMIZATION["ARMS"])
        content["arm_key"] = [
            {"letter": g.label, "code": g.arm, "label": labels[g.arm]}
            for g in arm_groups
        ]
    body.append(data_issues(inputs))
    content["data_issues"] = len(inputs.dataset.data_issues)
    content["excluded_no_data_use"] = inputs.dataset.excluded_no_data_use
    for number, item in enumerate(body, start=1):
        item["number"] = number
    content["sections"] = body
    content["figures"] = figures
    return content
