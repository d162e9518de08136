"""The site dashboard: what needs doing at the sites in a user's scope —
visits overdue, due and opening within a week, draft forms, open queries —
sorted, counted and paged by the database.

Every visit of every participant in scope comes from one SQL query
(``crf.schedule.sql``, held equal to the schedule function by its tests), so a
page costs two queries and fetches only the rows it shows, however many
participants, visits or forms there are.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse

from crf.forms.registry import FORMS, form_url
from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery, FormStatus
from crf.schedule import visits as schedule
from crf.schedule.dashboards.common import scoped
from crf.schedule.sql import site_days, table, visit_rows_sql
from perform.models import Participant, Site

OPENING_SOON_DAYS = 7

DUE, OVERDUE, OPENING, DRAFT, QUERY = "due", "overdue", "opening", "draft", "query"
_VISIT_DETAIL = {
    DUE: "window closes",
    OVERDUE: "window closed",
    OPENING: "window opens",
}
TASK_KINDS = [
    (OVERDUE, "Overdue visits"),
    (DUE, "Visits due"),
    (OPENING, f"Visits opening within {OPENING_SOON_DAYS} days"),
    (DRAFT, "Draft forms"),
    (QUERY, "Open queries"),
]
KIND_ORDER = [kind for kind, _label in TASK_KINDS]
SORTS = [("date", "Date"), ("study_id", "Study ID")]
_ORDER_BY = {
    "date": "date, kind_order, study_id, form_key, visit_code, object_id",
    "study_id": "study_id, kind_order, date, form_key, visit_code, object_id",
}


@dataclass(slots=True)
class Task:
    """One thing to do at a site: a row of the site dashboard."""

    kind: str
    study_id: str
    site_code: str
    date: datetime.date  # due by (visits), opens on, last saved, or raised on
    what: str
    url: str
    window_start: datetime.date | None = None
    window_end: datetime.date | None = None
    note: str = ""

    @property
    def detail(self) -> str:
        if self.window_start is None:
            return self.note
        return (
            f"{_VISIT_DETAIL[self.kind]} {self.date:%Y-%m-%d} "
            f"(window {self.window_start:%Y-%m-%d} to {self.window_end:%Y-%m-%d})"
        )

    @property
    def kind_label(self) -> str:
        return dict(TASK_KINDS)[self.kind]

    @property
    def participant_url(self) -> str:
        return reverse("participant_detail", args=[self.study_id])


def _visit_tasks_sql(scope, days) -> tuple[str, list]:
    """Visits overdue, due, or opening within a week, as task rows."""
    visits, params = visit_rows_sql(scope, days)
    sql = f"""
        SELECT CASE WHEN v.state = %s THEN %s ELSE v.state END AS kind,
               v.study_id, v.site_code,
               CASE WHEN v.state = %s THEN v.window_start ELSE v.window_end END
                   AS date,
               'follow-up'::text AS form_key, v.visit_code::text AS visit_code,
               0::bigint AS object_id, v.window_start, v.window_end,
               ''::text AS note, ''::text AS query_status, ''::text AS field_name
          FROM ({visits}) AS v
         WHERE v.state IN (%s, %s)
            OR (v.state = %s AND v.window_start <= v.today + %s::int)
    """
    return sql, [
        schedule.UPCOMING,
        OPENING,
        schedule.UPCOMING,
        *params,
        schedule.DUE,
        schedule.OVERDUE,
        schedule.UPCOMING,
        OPENING_SOON_DAYS,
    ]


def _draft_tasks_sql(scope_sql: str) -> tuple[str, list]:
    """Draft forms of every CRF model as task rows (dated by the site's local
    date of the last save)."""
    parts, params = [], []
    for spec in FORMS.values():
        model = spec.model
        has_visit = any(f.name == "visit" for f in model._meta.fields)
        parts.append(
            f"""
            SELECT %s::text, pp.study_id, s.code,
                   (f.updated_at AT TIME ZONE s.time_zone)::date,
                   %s::text, {"f.visit::text" if has_visit else "''::text"},
                   f.id::bigint, NULL::date, NULL::date, '', '', ''
              FROM {table(model)} f
              JOIN {table(Participant)} pp ON pp.id = f.participant_id
              JOIN {table(Site)} s ON s.id = pp.site_id
             WHERE f.status = %s AND pp.id IN (SELECT id FROM scope)
            """
        )
        params += [DRAFT, spec.key, FormStatus.DRAFT]
    return " UNION ALL ".join(parts), params


def _query_tasks_sql() -> tuple[str, list]:
    """Open or answered data queries as task rows (dated by the site's local
    date they were raised on)."""
    sql = f"""
        SELECT %s::text, pp.study_id, s.code,
               (q.raised_at AT TIME ZONE s.time_zone)::date,
               ct.model::text, ''::text, q.id::bigint, NULL::date, NULL::date,
               LEFT(q.text, 120), q.status::text, q.field_name::text
          FROM {table(DataQuery)} q
          JOIN {table(Participant)} pp ON pp.id = q.participant_id
          JOIN {table(Site)} s ON s.id = pp.site_id
          JOIN {table(ContentType)} ct ON ct.id = q.form_type_id
         WHERE q.status IN (%s, %s) AND pp.id IN (SELECT id FROM scope)
    """
    return sql, [QUERY, *UNRESOLVED_QUERY_STATUSES]


def _task_from_row(row: dict, labels: dict[str, str]) -> Task:
    kind = row["kind"]
    study_id = row["study_id"]
    if kind == QUERY:
        where = row["field_name"] or row["form_key"]
        status = dict(DataQuery.Status.choices)[row["query_status"]].lower()
        return Task(
            kind,
            study_id,
            row["site_code"],
            row["date"],
            f"Query on {where} ({status})",
            reverse("queries:detail", args=[row["object_id"]]),
            note=row["note"],
        )
    spec = FORMS[row["form_key"]]
    visit = row["visit_code"] or None
    if kind == DRAFT:
        label = f"{spec.label} {visit}" if visit else spec.label
        return Task(
            kind,
            study_id,
            row["site_code"],
            row["date"],
            f"{label} (draft)",
            form_url(study_id, spec, visit=visit, pk=row["object_id"]),
            note="last saved",
        )
    return Task(
        kind,
        study_id,
        row["site_code"],
        row["date"],
        f"{labels[visit]} follow-up",
        form_url(study_id, spec, visit=visit),
        window_start=row["window_start"],
        window_end=row["window_end"],
    )


class TaskList:
    """The dashboard's rows, counted and fetched a page at a time by SQL.

    ``Paginator`` takes it as its object list: ``count()`` is the number of
    rows (of the kind asked for), and a slice returns that page's rows.
    ``counts`` holds the number of each kind, whatever kind is asked for.

    The counts and the rows of ``expected`` (the slice the page asked for is
    likely to want) come from one query; a different slice (a page number
    past the end, say) costs one more.
    """

    def __init__(
        self,
        sql: str,
        params: list,
        *,
        kind: str | None,
        sort: str,
        expected: tuple[int, int] = (0, 50),
    ):
        self._sql = sql
        self._params = params
        self._kind = kind or None
        self._sort = sort if sort in _ORDER_BY else "date"
        self._counts = None
        self._expected = expected
        self._rows: dict[int, list[dict]] = {}  # start → rows from there

    def _page_sql(self, start: int, stop: int | None) -> tuple[str, list]:
        where, params = ("WHERE kind = %s", [self._kind]) if self._kind else ("", [])
        limit = "" if stop is None else f"LIMIT {max(0, int(stop) - int(start))}"
        sql = f"""
            SELECT *, array_position(%s::text[], kind) AS kind_order
              FROM tasks {where}
             ORDER BY {_ORDER_BY[self._sort]} {limit} OFFSET {int(start)}
        """
        return sql, [KIND_ORDER, *params]

    def _fetch(self, start: int, stop: int | None, *, with_counts: bool) -> None:
        page_sql, page_params = self._page_sql(start, stop)
        counts = "(SELECT json_object_agg(kind, n) FROM counted)" if with_counts else ""
        sql = f"""{self._sql},
            counted AS (SELECT kind, COUNT(*) AS n FROM tasks GROUP BY kind)
            SELECT {counts or "NULL"} AS counts,
                   (SELECT json_agg(page) FROM ({page_sql}) AS page) AS page
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*self._params, *page_params])
            counts, rows = cursor.fetchone()
        if with_counts:
            self._counts = counts or {}
        self._rows[start] = [_json_row(row) for row in rows or []]

    @property
    def counts(self) -> dict[str, int]:
        if self._counts is None:
            self._fetch(*self._expected, with_counts=True)
        return self._counts

    def count(self) -> int:
        if self._kind:
            return self.counts.get(self._kind, 0)
        return sum(self.counts.values())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Task]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("TaskList takes a slice")
        start = index.start or 0
        stop = index.stop
        cached = self._rows.get(start)
        expected_stop = self._expected[1] if start == self._expected[0] else -1
        if cached is None or stop is None or stop > expected_stop:
            self._fetch(start, stop, with_counts=False)
            cached = self._rows[start]
        wanted = cached if stop is None else cached[: stop - start]
        labels = schedule.visit_labels()
        return [_task_from_row(row, labels) for row in wanted]


def _json_row(row: dict) -> dict:
    """A task row as ``json_agg`` gives it, with its dates as dates again."""
    for name in ("date", "window_start", "window_end"):
        if row[name] is not None:
            row[name] = datetime.date.fromisoformat(row[name])
    return row


def site_tasks(
    *,
    user,
    site_code: str | None = None,
    kind: str | None = None,
    sort: str = "date",
    expected: tuple[int, int] = (0, 50),
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> TaskList:
    """What needs doing at the sites in ``user``'s scope: visits overdue, due
    and opening within a week (each site's local dates), draft forms, open or
    answered queries; sorted by date (oldest first) or study ID.

    Two queries whatever the data: the sites' dates, then the counts with the
    rows ``expected[0]:expected[1]`` (the page about to be shown).
    ``today_by_site`` (site code → date) overrides the sites' local dates.
    """
    scope = scoped(user, site_code)
    days = site_days(scope, today_by_site=today_by_site, now=now)
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    visits_sql, visits_params = _visit_tasks_sql(scope, days)
    drafts_sql, drafts_params = _draft_tasks_sql(scope_sql)
    queries_sql, queries_params = _query_tasks_sql()
    sql = f"""
        WITH scope (id) AS ({scope_sql}),
        tasks AS (
            {visits_sql}
            UNION ALL {drafts_sql}
            UNION ALL {queries_sql}
        )
    """
    params = [*scope_params, *visits_params, *drafts_params, *queries_params]
    return TaskList(sql, params, kind=kind, sort=sort, expected=expected)


def task_counts(tasks: TaskList) -> list[tuple[str, str, int]]:
    """(kind, label, number) of every kind, for the dashboard's tabs."""
    return [(k, label, tasks.counts.get(k, 0)) for k, label in TASK_KINDS]
