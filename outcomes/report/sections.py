"""Sections of both reports (PROTOCOL §11 open report): recruitment, CONSORT
flow, baseline, completeness, queries, deviations, SAE and death listings.

Each function takes the report inputs and the groups to show (pooled for the
open report; arm A, arm B and total for the closed one) and returns a section
dict of ``fmt.Table``s. Listings carry the arm letter only in closed reports.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass

from crf.models import Baseline, ProtocolDeviation
from crf.schedule.visits import DONE, MISSED, OVERDUE, visit_labels
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table, mean_sd, n_pct, pct
from perform.models import FractureStatus, Sex


@dataclass(frozen=True)
class Group:
    """A column of the report: an arm (by letter) or everyone."""

    label: str
    arm: str | None  # arm code; None = all participants

    def rows(self, rows: list[dict]) -> list[dict]:
        return rows if self.arm is None else [r for r in rows if r["arm"] == self.arm]


def section(section_id: str, title: str, tables, paragraphs=(), figures=()) -> dict:
    return {
        "id": section_id,
        "title": title,
        "paragraphs": list(paragraphs),
        "tables": [table.as_dict() for table in tables],
        "figures": list(figures),
    }


def _choices_rows(table, groups, rows, title, field, choices):
    """One row per choice, zeros included, and a "Not recorded" row for the
    participants with none of them (a blank or incomplete form), so every
    block adds up to the participants of its column: nobody is dropped."""
    table.add(title, *([""] * len(groups)))
    counts = [
        (Counter(r[field] for r in g.rows(rows)), len(g.rows(rows))) for g in groups
    ]
    values = [value for value, _label in choices]
    for value, label in choices:
        table.add(f"  {label}", *(n_pct(c[value], n) for c, n in counts))
    missing = [n - sum(c[v] for v in values) for c, n in counts]
    if any(missing):
        table.add(
            "  Not recorded",
            *(n_pct(m, n) for m, (_c, n) in zip(missing, counts, strict=True)),
        )


def baseline(inputs: ReportInputs, groups: list[Group]) -> dict:
    rows = inputs.dataset.rows
    table = Table(
        "Baseline characteristics", ["Characteristic"] + [g.label for g in groups]
    )
    table.add("Participants", *(len(g.rows(rows)) for g in groups))
    table.add(
        "Age, years: mean (SD)",
        *(mean_sd([r["age"] for r in g.rows(rows)]) for g in groups),
    )
    _choices_rows(table, groups, rows, "Sex", "sex", Sex.choices)
    _choices_rows(
        table,
        groups,
        rows,
        "Fracture status",
        "fracture_status",
        FractureStatus.choices,
    )
    _choices_rows(
        table,
        groups,
        rows,
        "Primary cancer",
        "primary_cancer",
        Baseline.PrimaryCancer.choices,
    )
    _choices_rows(
        table,
        groups,
        rows,
        "Lesion region",
        "lesion_region",
        Baseline.LesionRegion.choices,
    )
    _choices_rows(
        table,
        groups,
        rows,
        "Visceral metastases",
        "visceral_metastases",
        [(True, "Yes"), (False, "No")],
    )
    _choices_rows(
        table,
        groups,
        rows,
        "Bone metastases",
        "bone_metastases",
        Baseline.BoneMetastases.choices,
    )
    _choices_rows(table, groups, rows, "ECOG", "ecog", [(n, str(n)) for n in range(5)])
    _choices_rows(table, groups, rows, "ASA", "asa", [(n, str(n)) for n in range(1, 6)])
    table.add(
        "Baseline form not complete",
        *(
            n_pct(
                sum(1 for r in g.rows(rows) if r["primary_cancer"] is None),
                len(g.rows(rows)),
            )
            for g in groups
        ),
    )
    return section("baseline", "Baseline characteristics", [table])


def _completeness_cells(visits: list[dict]) -> list:
    states = Counter(v["state"] for v in visits)
    expected = states[DONE] + states[MISSED] + states[OVERDUE]
    on_time = sum(1 for v in visits if v["on_time"])
    return [
        expected,
        states[DONE],
        states[MISSED],
        states[OVERDUE],
        pct(states[DONE] / expected) if expected else "n/a",
        pct(on_time / states[DONE]) if states[DONE] else "n/a",
    ]


def completeness(inputs: ReportInputs, groups: list[Group]) -> dict:
    columns = ["Expected", "Done", "Missed", "Overdue", "Complete", "In window"]
    by_key = defaultdict(list)
    for visit in inputs.visits:
        by_key[(visit["site"], visit["visit"])].append(visit)
        by_key[("All sites", visit["visit"])].append(visit)
    labels = visit_labels()
    sites = [s["site"] for s in inputs.sites] + ["All sites"]
    by_site = Table("Follow-up forms by site and visit", ["Site", "Visit", *columns])
    for site in sites:
        for code, label in labels.items():
            visits = by_key.get((site, code))
            if visits:
                by_site.add(site, label, *_completeness_cells(visits))
    by_site.note = (
        "Expected: windows closed by the cut-off, or visits done. Complete: done "
        "of expected. In window: done inside the visit window, of done."
    )
    tables = [by_site]
    if any(g.arm for g in groups):
        by_arm = Table("Follow-up forms by arm and visit", ["Arm", "Visit", *columns])
        for group in groups:
            by_visit = defaultdict(list)
            for visit in group.rows(inputs.visits):
                by_visit[visit["visit"]].append(visit)
            for code, label in labels.items():
                visits = by_visit.get(code)
                if visits:
                    by_arm.add(group.label, label, *_completeness_cells(visits))
        tables.append(by_arm)
    return section("completeness", "Form completeness and timeliness", tables)


def queries(inputs: ReportInputs, groups: list[Group]) -> dict:
    table = Table(
        "Unresolved data queries by site",
        ["Site", "Open", "Answered", "Unresolved", "Oldest (days)"],
    )
    by_site = defaultdict(list)
    for query in inputs.queries:
        by_site[query["site"]].append(query)
    for site in [s["site"] for s in inputs.sites]:
        site_queries = by_site.get(site, [])
        status = Counter(q["status"] for q in site_queries)
        oldest = max(
            ((inputs.cutoff - q["raised_on"]).days for q in site_queries), default=0
        )
        table.add(site, status["open"], status["answered"], len(site_queries), oldest)
    status = Counter(q["status"] for q in inputs.queries)
    table.add("All", status["open"], status["answered"], len(inputs.queries), "")
    return section("queries", "Open data queries", [table])


def deviations(inputs: ReportInputs, groups: list[Group]) -> dict:
    rows = inputs.deviations
    severities = ProtocolDeviation.Severity.choices
    by_site = Table(
        "Protocol deviations by site",
        ["Site", *(label for _v, label in severities), "Total"],
    )
    for site in [s["site"] for s in inputs.sites] + ["All"]:
        site_rows = rows if site == "All" else [r for r in rows if r["site"] == site]
        counts = Counter(r["severity"] for r in site_rows)
        by_site.add(site, *(counts[v] for v, _l in severities), len(site_rows))
    by_category = Table(
        "Protocol deviations by category", ["Category"] + [g.label for g in groups]
    )
    for value, label in ProtocolDeviation.Category.choices:
        by_category.add(
            label,
            *(sum(1 for r in g.rows(rows) if r["category"] == value) for g in groups),
        )
    return section("deviations", "Protocol deviations", [by_site, by_category])
