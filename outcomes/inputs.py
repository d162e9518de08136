"""Everything a DSMB report reads, as plain tables, and the digest over them.

A report is a pure function of ``ReportInputs``: the analysis dataset (one row
per randomized participant, ``outcomes.derivation``) plus the tables the open
report lists (screening, sites, visits, questionnaire completion, queries,
deviations, serious adverse events) and the derivation's data issues
(``outcomes.data_issues``).
``inputs_digest`` is the SHA-256 of their canonical CSV serialization
(``inputs_csv``), printed on the title page; ``manage.py analysis_dataset``
writes the same tables, so a statistician can check the digest by hand.

Reads go through ``participants_for_system``: reports are produced by the
platform itself and their *files* are what access rules protect
(``outcomes.selectors``).
"""

import csv
import datetime
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal

from crf.epro.completion import MODES, prom_completion
from crf.models import (
    COMPLETE_STATUSES,
    UNRESOLVED_QUERY_STATUSES,
    AdverseEvent,
    DataQuery,
    ProtocolDeviation,
    Reoperation,
)
from crf.schedule.inputs import schedule_inputs_for
from crf.schedule.visits import visit_definitions
from outcomes.data_issues import DATA_ISSUE_COLUMNS
from outcomes.derivation import (
    AnalysisDataset,
    analysis_dataset,
    columns,
    randomized_ids,
)
from outcomes.looks import LOOK_COLUMNS, earlier_looks
from perform.models import Site
from perform.selectors import participants_for_system
from randomization.models import Slot

SCREENING_COLUMNS = ["study_id", "site", "screening_date", "status"]
SITE_COLUMNS = ["site", "name", "activation_date", "target_enrolment"]
VISIT_COLUMNS = ["study_id", "site", "arm", "visit", "state", "done_on", "on_time"]
PROM_COMPLETION_COLUMNS = [
    "site",
    "visit",
    "expected",
    "completed",
    *MODES,
    "open_now",
]
QUERY_COLUMNS = ["study_id", "site", "status", "raised_on"]
DEVIATION_COLUMNS = ["study_id", "site", "arm", "date", "category", "severity"]
AE_COLUMNS = [
    "study_id",
    "site",
    "arm",
    "term",
    "body_system",
    "onset_date",
    "clavien_dindo",
    "serious",
    "criteria",
    "relatedness",
    "expected",
    "outcome",
]
REOPERATION_COLUMNS = ["study_id", "site", "arm", "date", "reason"]


@dataclass
class ReportInputs:
    cutoff: datetime.date
    dataset: AnalysisDataset
    screening: list[dict] = field(default_factory=list)
    sites: list[dict] = field(default_factory=list)
    visits: list[dict] = field(default_factory=list)
    # Questionnaires expected and answered per site and visit, as of the
    # cut-off (``crf.epro.completion``); every site and visit, zeros included.
    prom_completion: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)
    deviations: list[dict] = field(default_factory=list)
    adverse_events: list[dict] = field(default_factory=list)
    reoperations: list[dict] = field(default_factory=list)
    # Earlier released closed reports (interim looks), ``outcomes.looks``.
    looks: list[dict] = field(default_factory=list)

    @property
    def saes(self) -> list[dict]:
        """The serious adverse events (``serious`` answered yes)."""
        return [ae for ae in self.adverse_events if ae["serious"]]

    def tables(self) -> list[tuple[str, list[str], list[dict]]]:
        """(name, columns, rows) of every table, in digest order."""
        return [
            ("participants", columns(), self.dataset.rows),
            ("screening", SCREENING_COLUMNS, self.screening),
            ("sites", SITE_COLUMNS, self.sites),
            ("visits", VISIT_COLUMNS, self.visits),
            ("prom_completion", PROM_COMPLETION_COLUMNS, self.prom_completion),
            ("queries", QUERY_COLUMNS, self.queries),
            ("deviations", DEVIATION_COLUMNS, self.deviations),
            ("adverse_events", AE_COLUMNS, self.adverse_events),
            ("reoperations", REOPERATION_COLUMNS, self.reoperations),
            ("looks", LOOK_COLUMNS, self.looks),
            ("data_issues", DATA_ISSUE_COLUMNS, self.dataset.data_issues),
        ]


def _cell(value) -> str:
    if type(value) is str:  # the common case first: this runs per cell
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def table_csv(names: list[str], rows: list[dict]) -> str:
    """One table as CSV text: header, then rows in the given order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in names])
    return out.getvalue()


def inputs_csv(inputs: ReportInputs) -> str:
    """All tables, each preceded by a ``# table: <name>`` line."""
    return "".join(
        f"# table: {name}\n{table_csv(names, rows)}"
        for name, names, rows in inputs.tables()
    )


def inputs_digest(inputs: ReportInputs) -> str:
    return hashlib.sha256(inputs_csv(inputs).encode()).hexdigest()


def _screening(cutoff):
    return list(
        participants_for_system()
        .filter(screening_date__lte=cutoff)
        .order_by("study_id")
        .values("study_id", "site__code", "screening_date", "status")
    )


def _sites():
    return [
        {
            "site": site.code,
            "name": site.name,
            "activation_date": site.activation_date,
            "target_enrolment": site.target_enrolment,
        }
        for site in Site.objects.order_by("code")
    ]


def _visits(dataset: AnalysisDataset, ids_by_study: dict) -> list[dict]:
    """Each operated participant's visits as of the cut-off (PROTOCOL §6), from
    the schedule's inputs as every page reads them (``crf.schedule.inputs``,
    ``as_of`` the cut-off: a complete Death or Withdrawal form ends the
    schedule, a draft one does not), for the participants the dataset counts
    as operated (a complete operative form by the cut-off)."""
    cutoff = dataset.cutoff
    inputs = schedule_inputs_for(
        participants_for_system().filter(pk__in=randomized_ids()), as_of=cutoff
    )
    rows = []
    visits = visit_definitions()
    for row in dataset.rows:
        if row["surgery_date"] is None:
            continue
        for state in inputs[ids_by_study[row["study_id"]]].schedule(visits=visits):
            on_time = None
            if state.done_on:
                on_time = state.window_start <= state.done_on <= state.window_end
            rows.append(
                {
                    "study_id": row["study_id"],
                    "site": row["site"],
                    "arm": row["arm"],
                    "visit": state.code,
                    "state": state.state,
                    "done_on": state.done_on,
                    "on_time": on_time,
                }
            )
    return rows


def _prom_completion(dataset: AnalysisDataset, ids_by_study: dict, sites) -> list:
    """Questionnaire completion as of the cut-off (``crf.epro.completion``)
    of the participants whose visits the report counts: the dataset's
    operated participants (so nobody who refused the use of their data)."""
    operated = [
        ids_by_study[row["study_id"]]
        for row in dataset.rows
        if row["surgery_date"] is not None
    ]
    return prom_completion(
        scope=participants_for_system().filter(pk__in=operated),
        as_of=dataset.cutoff,
        sites=[site["site"] for site in sites],
    ).as_rows()


def _queries(cutoff, ids, arms):
    end = datetime.datetime.combine(
        cutoff + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )
    queries = (
        DataQuery.objects.filter(
            participant_id__in=ids,
            status__in=UNRESOLVED_QUERY_STATUSES,
            raised_at__lt=end,
        )
        .order_by("participant__study_id", "raised_at", "id")
        .values(
            "participant__study_id", "participant__site__code", "status", "raised_at"
        )
    )
    return [
        {
            "study_id": q["participant__study_id"],
            "site": q["participant__site__code"],
            "status": q["status"],
            "raised_on": q["raised_at"].date(),
        }
        for q in queries
        if q["participant__study_id"] in arms
    ]


def _deviations(cutoff, ids, arms):
    rows = (
        ProtocolDeviation.objects.filter(
            participant_id__in=ids,
            status__in=COMPLETE_STATUSES,
            deviation_date__lte=cutoff,
        )
        .order_by("participant__study_id", "deviation_date", "id")
        .values(
            "participant__study_id",
            "participant__site__code",
            "deviation_date",
            "category",
            "severity",
        )
    )
    return [
        {
            "study_id": r["participant__study_id"],
            "site": r["participant__site__code"],
            "arm": arms.get(r["participant__study_id"], ""),
            "date": r["deviation_date"],
            "category": r["category"],
            "severity": r["severity"],
        }
        for r in rows
        if r["participant__study_id"] in arms
    ]


def _adverse_events(cutoff, ids, arms):
    """Every complete adverse event with onset by the cut-off (serious or not:
    the safety section counts all of them by grade and body system)."""
    events = (
        AdverseEvent.objects.filter(
            participant_id__in=ids,
            status__in=COMPLETE_STATUSES,
            onset_date__lte=cutoff,
        )
        .select_related("participant__site")
        .order_by("participant__study_id", "onset_date", "id")
    )
    return [
        {
            "study_id": ae.participant.study_id,
            "site": ae.participant.site.code,
            "arm": arms.get(ae.participant.study_id, ""),
            "term": ae.term,
            "body_system": ae.body_system,
            "onset_date": ae.onset_date,
            "clavien_dindo": ae.clavien_dindo,
            "serious": bool(ae.serious),
            "criteria": "; ".join(ae.serious_criteria),
            "relatedness": ae.relatedness,
            "expected": ae.expected,
            "outcome": ae.outcome,
        }
        for ae in events
        if ae.participant.study_id in arms
    ]


def _reoperations(cutoff, ids, arms):
    rows = (
        Reoperation.objects.filter(
            participant_id__in=ids,
            status__in=COMPLETE_STATUSES,
            reoperation_date__lte=cutoff,
        )
        .order_by("participant__study_id", "reoperation_date", "id")
        .values(
            "participant__study_id",
            "participant__site__code",
            "reoperation_date",
            "reason",
        )
    )
    return [
        {
            "study_id": r["participant__study_id"],
            "site": r["participant__site__code"],
            "arm": arms[r["participant__study_id"]],
            "date": r["reoperation_date"],
            "reason": r["reason"],
        }
        for r in rows
        if r["participant__study_id"] in arms
    ]


def report_inputs(
    *, cutoff: datetime.date, generated_at: datetime.datetime | None = None
) -> ReportInputs:
    """Read everything a report of data cut-off ``cutoff``, generated at
    ``generated_at`` (default: now; it decides whose refusal of data use
    applies, ``outcomes.data_use``), uses."""
    dataset = analysis_dataset(cutoff=cutoff, generated_at=generated_at)
    arms = {row["study_id"]: row["arm"] for row in dataset.rows}
    ids_by_study = {
        study_id: pid
        for study_id, pid in Slot.objects.filter(
            participant_id__in=randomized_ids()
        ).values_list("participant__study_id", "participant_id")
        if study_id in arms
    }
    ids = randomized_ids()
    screening = [
        {
            "study_id": r["study_id"],
            "site": r["site__code"],
            "screening_date": r["screening_date"],
            "status": r["status"],
        }
        for r in _screening(cutoff)
    ]
    sites = _sites()
    return ReportInputs(
        cutoff=cutoff,
        dataset=dataset,
        screening=screening,
        sites=sites,
        visits=_visits(dataset, ids_by_study),
        prom_completion=_prom_completion(dataset, ids_by_study, sites),
        queries=_queries(cutoff, ids, arms),
        deviations=_deviations(cutoff, ids, arms),
        adverse_events=_adverse_events(cutoff, ids, arms),
        reoperations=_reoperations(cutoff, ids, arms),
        looks=earlier_looks(cutoff=cutoff, generated_at=dataset.generated_at),
    )
