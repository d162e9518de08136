"""The safety section of both reports and its listings (PROTOCOL §9, §11).

By arm in the closed report, pooled in the open one: every adverse event by
Clavien-Dindo grade and by body system; the serious ones by seriousness
criterion, relatedness and expectedness, with the SUSARs; deaths by cause;
reoperations by reason. Every choice of every field is a row (zeros too), and
a "Not recorded" row appears when a complete form left the field blank, so
each block adds up to its "Any" row.

A SUSAR (suspected unexpected serious adverse reaction, ICH E2A) is an SAE
whose relatedness is possible, probable or definite ("a reasonable
possibility") and which the site marked not expected.
"""

from crf.models import AdverseEvent, Death, Reoperation
from crf.models.events import BodySystem, ClavienDindo
from outcomes.inputs import ReportInputs
from outcomes.report.fmt import Table
from outcomes.report.sections import Group, section

RELATED = {
    AdverseEvent.Relatedness.POSSIBLE,
    AdverseEvent.Relatedness.PROBABLE,
    AdverseEvent.Relatedness.DEFINITE,
}
CRITERIA = [
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalization",
    "sae_disability",
    "sae_other_important",
]
NOT_RECORDED = "Not recorded"


def is_susar(event: dict) -> bool:
    return bool(
        event["serious"]
        and event["relatedness"] in RELATED
        and event["expected"] is False
    )


def events_participants(events: list[dict]) -> str:
    """``events (participants)``: the cell of every count-of-events table."""
    return f"{len(events)} ({len({e['study_id'] for e in events})})"


def _block(table, groups, events, title, key, choices) -> None:
    """A heading row, one row per choice and "Not recorded" when needed; cells
    are ``events (participants)`` per group."""
    table.add(title, *([""] * len(groups)))
    values = {value for value, _label in choices}
    for value, label in choices:
        table.add(
            f"  {label}",
            *(
                events_participants([e for e in g.rows(events) if key(e) == value])
                for g in groups
            ),
        )
    unrecorded = [e for e in events if key(e) not in values]
    if unrecorded:
        table.add(
            f"  {NOT_RECORDED}",
            *(events_participants(g.rows(unrecorded)) for g in groups),
        )


def _any(table, groups, events, label="Any") -> None:
    table.add(label, *(events_participants(g.rows(events)) for g in groups))


def safety(inputs: ReportInputs, groups: list[Group]) -> dict:
    events = inputs.adverse_events
    saes = [e for e in events if e["serious"]]
    columns = ["", *(f"{g.label}: events (participants)" for g in groups)]

    by_grade = Table("Adverse events by Clavien-Dindo grade", ["Grade", *columns[1:]])
    _any(by_grade, groups, events, "Any adverse event")
    _block(
        by_grade,
        groups,
        events,
        "Clavien-Dindo grade",
        lambda e: e["clavien_dindo"],
        ClavienDindo.choices,
    )
    by_system = Table("Adverse events by body system", ["Body system", *columns[1:]])
    _any(by_system, groups, events, "Any adverse event")
    _block(
        by_system,
        groups,
        events,
        "Body system",
        lambda e: e["body_system"],
        BodySystem.choices,
    )
    serious = Table("Serious adverse events", ["", *columns[1:]])
    _any(serious, groups, saes, "Any serious adverse event")
    serious.add("Seriousness criteria (an SAE may meet several)", *([""] * len(groups)))
    labels = {
        name: str(AdverseEvent._meta.get_field(name).verbose_name) for name in CRITERIA
    }
    for name in CRITERIA:
        met = [e for e in saes if labels[name] in e["criteria"].split("; ")]
        serious.add(
            f"  {labels[name]}", *(events_participants(g.rows(met)) for g in groups)
        )
    _block(
        serious,
        groups,
        saes,
        "Related to the surgery or implant",
        lambda e: e["relatedness"],
        AdverseEvent.Relatedness.choices,
    )
    _block(
        serious,
        groups,
        saes,
        "Expectedness",
        lambda e: e["expected"],
        [(True, "Expected"), (False, "Unexpected")],
    )
    susars = [e for e in saes if is_susar(e)]
    _any(serious, groups, susars, "SUSARs (related, unexpected)")
    serious.note = (
        "Related: possibly, probably or definitely related. SUSAR: a serious "
        "adverse event, related and not expected (ICH E2A). Listing: Appendix A."
    )

    deaths = [r for r in inputs.dataset.rows if r["os_event"] == 1]
    by_cause = Table("Deaths by primary cause", ["Cause", *(g.label for g in groups)])
    by_cause.add("Any death", *(len(g.rows(deaths)) for g in groups))
    causes = dict(Death.Cause.choices)
    for value, label in Death.Cause.choices:
        by_cause.add(
            f"  {label}",
            *(
                sum(1 for r in g.rows(deaths) if r["death_cause"] == value)
                for g in groups
            ),
        )
    unrecorded = [r for r in deaths if r["death_cause"] not in causes]
    if unrecorded:
        by_cause.add(f"  {NOT_RECORDED}", *(len(g.rows(unrecorded)) for g in groups))

    reoperations = inputs.reoperations
    by_reason = Table("Reoperations by reason", ["Reason", *columns[1:]])
    _any(by_reason, groups, reoperations, "Any reoperation")
    _block(
        by_reason,
        groups,
        reoperations,
        "Reason",
        lambda r: r["reason"],
        Reoperation.Reason.choices,
    )
    text = [
        f"{len(events)} adverse events in "
        f"{len({e['study_id'] for e in events})} participants by the cut-off, "
        f"{len(saes)} serious ({len(susars)} SUSARs); {len(deaths)} deaths; "
        f"{len(reoperations)} reoperations."
    ]
    return section(
        "safety",
        "Safety",
        [by_grade, by_system, serious, by_cause, by_reason],
        text,
    )


_SHORT = {
    "sae_death": "D",
    "sae_life_threatening": "LT",
    "sae_hospitalization": "H",
    "sae_disability": "Dis",
    "sae_other_important": "OI",
}
_CODES = {
    code: str(AdverseEvent._meta.get_field(name).verbose_name)
    for name, code in _SHORT.items()
}


def _criteria_codes(criteria: str) -> str:
    met = set(criteria.split("; "))
    return " ".join(code for code, label in _CODES.items() if label in met) or "-"


def sae_listing(inputs: ReportInputs, groups: list[Group], letters: dict) -> dict:
    closed = any(g.arm for g in groups)
    surgery = {r["study_id"]: r["surgery_date"] for r in inputs.dataset.rows}
    listing = Table(
        "Listing of serious adverse events",
        [
            "Study ID",
            *(["Arm"] if closed else []),
            "Term",
            "Body system",
            "Onset",
            "Day",
            "CD",
            "Criteria",
            "Related",
            "Expected",
            "SUSAR",
            "Outcome",
        ],
    )
    systems = dict(BodySystem.choices)
    outcomes = dict(AdverseEvent.Outcome.choices)
    related = dict(AdverseEvent.Relatedness.choices)
    for e in inputs.saes:
        operated = surgery.get(e["study_id"])
        listing.add(
            e["study_id"],
            *([letters.get(e["arm"], "")] if closed else []),
            e["term"],
            systems.get(e["body_system"], e["body_system"] or "-"),
            e["onset_date"],
            (e["onset_date"] - operated).days if operated else "not operated",
            e["clavien_dindo"] or "-",
            _criteria_codes(e["criteria"]),
            related.get(e["relatedness"], "-"),
            {True: "Yes", False: "No"}.get(e["expected"], "-"),
            "Yes" if is_susar(e) else "No",
            outcomes.get(e["outcome"], e["outcome"] or "-"),
        )
    listing.note = (
        "Day: days from surgery to onset. CD: Clavien-Dindo grade. Criteria: "
        + "; ".join(f"{code} {label.lower()}" for code, label in _CODES.items())
        + ". SUSAR: related (possibly, probably, definitely) and not expected."
    )
    appendix = section("sae_listing", "Appendix A: serious adverse events", [listing])
    appendix["new_page"] = appendix["appendix"] = True
    return appendix


def death_listing(inputs: ReportInputs, groups: list[Group], letters: dict) -> dict:
    closed = any(g.arm for g in groups)
    causes = dict(Death.Cause.choices)
    listing = Table(
        "Listing of deaths",
        [
            "Study ID",
            "Site",
            *(["Arm"] if closed else []),
            "Date",
            "Cause",
            "Days from time zero",
        ],
    )
    for r in inputs.dataset.rows:
        if r["os_event"]:
            listing.add(
                r["study_id"],
                r["site"],
                *([letters.get(r["arm"], "")] if closed else []),
                r["death_date"],
                causes.get(r["death_cause"], r["death_cause"] or NOT_RECORDED),
                r["os_days"],
            )
    appendix = section("death_listing", "Appendix B: deaths", [listing])
    appendix["new_page"] = appendix["appendix"] = True
    return appendix


def signals(inputs: ReportInputs, groups: list[Group]) -> list[list[str]]:
    """The executive summary's safety rows: SAEs, SUSARs, deaths, reoperations
    per group (events (participants); deaths as counts)."""
    saes = inputs.saes
    susars = [e for e in saes if is_susar(e)]
    deaths = [r for r in inputs.dataset.rows if r["os_event"] == 1]
    return [
        [
            "Serious adverse events",
            *(events_participants(g.rows(saes)) for g in groups),
        ],
        ["SUSARs", *(events_participants(g.rows(susars)) for g in groups)],
        ["Deaths", *(str(len(g.rows(deaths))) for g in groups)],
        [
            "Reoperations",
            *(events_participants(g.rows(inputs.reoperations)) for g in groups),
        ],
    ]
