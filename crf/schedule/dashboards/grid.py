"""The record status grid (REDCap's record status dashboard): one row per
participant in the user's scope, one column per form and visit in the
trial's order, each cell the state of that form, coloured, worded and linked
to the form's page.

Columns: the participant's lifecycle status (screening and consent are
recorded on the participant page, so that cell links there), the baseline,
operative and discharge forms, the six follow-up visits
(``crf.schedule.visits.visit_definitions()``), then the event forms:
adverse events, reoperations and protocol deviations (repeatable: their
number), local recurrence, death and withdrawal.

Cell states (``STATES``), decided by ``_form_cell`` and ``_visit_cell``:

* an entered form: *draft*, *complete*, *signed* or *locked* (a lock wins);
  a follow-up recorded as missed (complete, with a reason) is *missed*;
* a follow-up not entered: the visit's state from the schedule
  (``crf.schedule.visits``): *not yet due* (window not open, or no surgery
  date yet), *due*, *overdue*, or *not applicable* when follow-up ended first;
* a baseline or operative form not entered: *due* (expected, no window), or
  *not applicable* (the baseline of an ineligible or declined patient, any
  clinical form before randomization: ``crf.forms.rules.form_allowed_for``);
  a discharge not entered is *not yet due* until surgery is recorded;
* an event form never recorded: *none*;
* any form with an open or answered data query carries a query marker
  (``queries``) besides its state.

Repeatable forms show how many there are and the least advanced state among
them (a draft before a complete one); the cell links to the form when there
is one, else to that list on the participant's forms page.

Cost: a fixed number of queries whatever the number of participants. The
filters are applied by the database over the whole scope, which returns the
ids of the participants listed, in order (``grid_scope``: one query; one more
for the sites' dates when the filter is about visits); then only the page's
participants are read: themselves, their visits (``crf.schedule.sql``), their
forms (one UNION ALL over the CRF tables) and their unresolved queries: four
queries.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote

from django.db import connection
from django.db.models import Count
from django.urls import reverse

from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, FormSpec, form_url
from crf.forms.rules import form_allowed_for
from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery
from crf.schedule import visits as schedule
from crf.schedule.dashboards.common import scoped
from crf.schedule.sql import table, visit_rows_sql
from perform.models import Participant, ParticipantStatus

NOT_YET_DUE, DUE, OVERDUE, DRAFT, COMPLETE, SIGNED, LOCKED, MISSED = (
    "not_yet_due",
    "due",
    "overdue",
    "draft",
    "complete",
    "signed",
    "locked",
    "missed",
)
NOT_APPLICABLE, NONE = "not_applicable", "none"


@dataclass(frozen=True)
class CellState:
    """One state of the legend: its code (the CSS class ``grid-<code>``), the
    word shown in a cell and what it means."""

    code: str
    text: str
    meaning: str


STATES = {
    s.code: s
    for s in [
        CellState(NOT_YET_DUE, "later", "Not yet due: the window has not opened"),
        CellState(DUE, "due", "Due: window open, or expected and not entered"),
        CellState(OVERDUE, "overdue", "Overdue: the window has closed"),
        CellState(DRAFT, "draft", "Draft: saved, not complete"),
        CellState(COMPLETE, "complete", "Complete, not signed"),
        CellState(SIGNED, "signed", "Signed by the investigator"),
        CellState(LOCKED, "locked", "Locked by the Methods Centre"),
        CellState(MISSED, "missed", "Missed: recorded as not done, with a reason"),
        CellState(NONE, "none", "None recorded (event forms)"),
        CellState(NOT_APPLICABLE, "n/a", "Not applicable to this participant"),
    ]
}
# Least advanced first: a repeatable form's cell shows the first its forms have.
_PROGRESS = (DRAFT, COMPLETE, SIGNED, LOCKED)


# Single forms in the trial's order, before and after the visits.
_CLINICAL = ("baseline", "operative", "discharge")
_EVENTS = ("adverse-event", "reoperation", "deviation", "local-recurrence")
_ENDINGS = ("death", "withdrawal")
_EXPECTED_WHEN_ALLOWED = {"baseline", "operative"}
# Headers short enough for the grid to fit a laptop screen (1366 px).
_SHORT = {
    "adverse-event": "AEs",
    "reoperation": "Reop.",
    "deviation": "Deviat.",
    "local-recurrence": "Recur.",
    "withdrawal": "Withdr.",
}
_NOT_EXPECTED_STATUSES = {ParticipantStatus.INELIGIBLE, ParticipantStatus.DECLINED}
# What a single form's cell says when the form has not been entered.
_NOT_ENTERED = {
    DUE: "expected, not entered",
    NOT_YET_DUE: "not yet due (after surgery)",
    NONE: "none recorded",
    NOT_APPLICABLE: "not applicable",
}


# Stands for the study ID in a URL built once per column (see ``Column.url``).
_STUDY_ID = "__study_id__"


@dataclass(frozen=True)
class Column:
    """One column of the grid: a form (``spec``), or a visit (``visit``)."""

    label: str
    spec: FormSpec
    visit: schedule.VisitDefinition | None = None
    short: str = ""  # the header, when the label is too wide for it

    @property
    def key(self) -> str:
        return self.visit.code if self.visit else self.spec.key

    @cached_property
    def url_pattern(self) -> str:
        """The cells' link, ``_STUDY_ID`` standing for the study ID: the
        form's page (``form_url``), or for a repeatable form their list on the
        participant's forms page. Resolved once per column, not per cell (a
        page would otherwise resolve 750 URLs)."""
        if self.spec.kind == REPEATABLE:
            forms_page = reverse("crf:participant_forms", args=[_STUDY_ID])
            return f"{forms_page}#repeatable-{self.spec.key}"
        return form_url(_STUDY_ID, self.spec, visit=self.key if self.visit else None)


def grid_columns() -> list[Column]:
    """The columns after the participant's own, in the trial's order."""
    follow_up = next(spec for spec in FORMS.values() if spec.kind == PER_VISIT)
    return [
        *[Column(FORMS[key].label, FORMS[key]) for key in _CLINICAL],
        *[Column(v.label, follow_up, v) for v in schedule.visit_definitions()],
        *[
            Column(FORMS[key].label, FORMS[key], short=_SHORT.get(key, ""))
            for key in (*_EVENTS, *_ENDINGS)
        ],
    ]


@dataclass(slots=True)
class Cell:
    """One cell: its state (colour and word), what it says in full, where it
    leads, and its unresolved data queries."""

    state: str
    title: str
    url: str
    queries: int = 0
    count: int | None = None  # repeatable forms: how many
    column: str = ""  # the column's key (a form key or a visit code)

    @property
    def text(self) -> str:
        if self.count:
            return str(self.count)
        return STATES[self.state].text

    @property
    def description(self) -> str:
        """What a screen reader says (and the tooltip): the title, its state
        when the cell shows only a number, and the queries."""
        words = self.title
        if self.count:
            words += f" ({STATES[self.state].text})"
        if self.queries:
            words += f"; {self.queries} open quer{'y' if self.queries == 1 else 'ies'}"
        return words


@dataclass(slots=True)
class GridRow:
    participant: Participant
    participant_url: str  # the participant page: screening, consent, status
    cells: list[Cell] = field(default_factory=list)


# ---------------------------------------------------------------------------
# The page's rows: three queries for however many participants
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Form:
    key: str
    pk: int
    status: str
    locked: bool
    visit: str

    @property
    def state(self) -> str:
        return LOCKED if self.locked else self.status


def _page_forms(ids: Sequence[int]) -> dict[int, list[_Form]]:
    """Participant id → every CRF of theirs (one query over all CRF tables)."""
    parts, params = [], []
    for spec in FORMS.values():
        visit = "f.visit" if spec.kind == PER_VISIT else "''"
        parts.append(
            f"SELECT %s::text, f.participant_id, f.id, f.status, f.locked, "
            f"{visit}::text FROM {table(spec.model)} f "
            f"WHERE f.participant_id = ANY(%s)"
        )
        params += [spec.key, list(ids)]
    forms = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 3", params)
        for key, participant_id, pk, status, locked, visit in cursor.fetchall():
            forms[participant_id].append(_Form(key, pk, status, locked, visit))
    return forms


def _page_queries(ids: Sequence[int]) -> dict[tuple[str, int], int]:
    """(form key, form id) → its number of open or answered queries."""
    keys = {
        (spec.model._meta.app_label, spec.model._meta.model_name): spec.key
        for spec in FORMS.values()
    }
    rows = (
        DataQuery.objects.filter(
            participant_id__in=ids, status__in=UNRESOLVED_QUERY_STATUSES
        )
        .order_by()
        .values_list("form_type__app_label", "form_type__model", "form_id")
        .annotate(n=Count("id"))
    )
    return {
        (keys[app, model], form_id): n
        for app, model, form_id, n in rows
        if (app, model) in keys
    }


def _page_visits(participants: Sequence[Participant], now) -> dict[tuple, dict]:
    """(participant id, visit code) → the visit's row of the SQL schedule
    (``crf.schedule.sql``): one query; the sites' dates from the
    participants' own sites (already loaded)."""
    days = {
        p.site_id: schedule.site_today(p.site.time_zone, now=now) for p in participants
    }
    scope = Participant.objects.filter(pk__in=[p.pk for p in participants])
    sql, params = visit_rows_sql(scope, days)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(row["participant_id"], row["visit_code"]): row for row in rows}


def grid_rows(
    *, user, ids: Sequence[int], now: datetime.datetime | None = None
) -> list[GridRow]:
    """The rows of the participants ``ids`` (a page of
    ``grid_participant_ids``) in ``user``'s scope, by study ID: four queries
    whatever their number, none if there are none."""
    if not ids:
        return []
    participants = list(scoped(user, None).filter(pk__in=ids).order_by("study_id"))
    ids = [p.pk for p in participants]
    forms = _page_forms(ids)
    queries = _page_queries(ids)
    visits = _page_visits(participants, now)
    columns = grid_columns()
    operated_ids = {participant_id for participant_id, _visit in visits}
    participant_page = reverse("participant_detail", args=[_STUDY_ID])
    rows = []
    for participant in participants:
        by_key = defaultdict(list)
        for form in forms.get(participant.pk, ()):
            by_key[form.visit or form.key].append(form)
        operated = participant.pk in operated_ids
        quoted = quote(participant.study_id, safe="")
        row = GridRow(participant, participant_page.replace(_STUDY_ID, quoted))
        for column in columns:
            entered = by_key.get(column.key, [])
            url = column.url_pattern.replace(_STUDY_ID, quoted)
            if column.visit:
                visit = visits.get((participant.pk, column.key))
                cell = _visit_cell(participant, column, url, entered, visit)
            elif column.spec.kind == REPEATABLE:
                cell = _repeatable_cell(participant, column, url, entered)
            else:
                cell = _form_cell(participant, column, url, entered, operated)
            cell.column = column.key
            cell.queries = sum(queries.get((f.key, f.pk), 0) for f in entered)
            row.cells.append(cell)
        rows.append(row)
    return rows


def _form_cell(participant, column: Column, url, entered, operated: bool) -> Cell:
    spec = column.spec
    if entered:
        state = entered[0].state
        return Cell(state, f"{spec.label}: {STATES[state].text}", url)
    allowed = form_allowed_for(spec, participant)
    if not allowed or (
        spec.key == "baseline" and participant.status in _NOT_EXPECTED_STATUSES
    ):
        state = NOT_APPLICABLE
    elif spec.key in _EXPECTED_WHEN_ALLOWED:
        state = DUE
    elif spec.key == "discharge":
        state = DUE if operated else NOT_YET_DUE
    else:
        state = NONE
    return Cell(state, f"{spec.label}: {_NOT_ENTERED[state]}", url)


def _visit_cell(participant, column: Column, url, entered, visit: dict | None) -> Cell:
    label = f"{column.label} follow-up"
    window = (
        f", window {visit['window_start']:%Y-%m-%d} to {visit['window_end']:%Y-%m-%d}"
        if visit
        else ""
    )
    if visit and visit["state"] == schedule.MISSED:
        state = MISSED
    elif entered:
        state = entered[0].state
    elif visit is None:  # no surgery date yet
        if form_allowed_for(column.spec, participant):
            return Cell(NOT_YET_DUE, f"{label}: not yet due (no surgery yet)", url)
        return Cell(NOT_APPLICABLE, f"{label}: not applicable", url)
    else:
        state = {
            schedule.UPCOMING: NOT_YET_DUE,
            schedule.DUE: DUE,
            schedule.OVERDUE: OVERDUE,
            schedule.NOT_EXPECTED: NOT_APPLICABLE,
        }[visit["state"]]
        if state == NOT_APPLICABLE:
            return Cell(state, f"{label}: not expected (follow-up ended)", url)
    return Cell(state, f"{label}: {STATES[state].text}{window}", url)


def _repeatable_cell(participant, column: Column, lists: str, entered) -> Cell:
    spec = column.spec
    if not entered:
        state = NONE if form_allowed_for(spec, participant) else NOT_APPLICABLE
        return Cell(state, f"{spec.label}: {_NOT_ENTERED[state]}", lists)
    state = min((f.state for f in entered), key=_PROGRESS.index)
    url = (
        form_url(participant.study_id, spec, pk=entered[0].pk)
        if len(entered) == 1
        else lists
    )
    return Cell(state, f"{spec.label}: {len(entered)}", url, count=len(entered))
