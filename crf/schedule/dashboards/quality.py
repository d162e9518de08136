"""The Methods Centre's data-quality view: per site and visit, forms
expected, complete, due and overdue, the median delay from visit to entry,
and open queries; aggregated by the database in one query over the SQL visit
schedule (``crf.schedule.sql``), which also counts the patient-reported
questionnaires' completion by site and visit (``crf.epro.completion``'s
columns: the schedule is computed once for both tables).
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count

from crf.epro.completion import (
    CompletionTable,
    completion_cells,
    completion_sql_parts,
)
from crf.epro.windows import survey_visit_labels
from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery
from crf.schedule import visits as schedule
from crf.schedule.dashboards.common import scoped
from crf.schedule.sql import site_days, visit_rows_sql
from perform.selectors import sites_for


@dataclass
class VisitQuality:
    site_code: str
    visit_code: str
    visit_label: str
    expected: int = 0
    complete: int = 0
    missed: int = 0
    due: int = 0
    overdue: int = 0
    median_entry_days: float | None = None

    @property
    def complete_percent(self) -> float | None:
        return 100 * self.complete / self.expected if self.expected else None


@dataclass(frozen=True)
class SiteQuality:
    site_code: str
    site_name: str
    participants: int
    open_queries: int
    visits: list[VisitQuality]
    totals: VisitQuality = field(default=None)


def _quality_sql(scope, days) -> tuple[str, list]:
    """Per site and visit, and per site over all visits (GROUPING SETS); with
    the questionnaires' completion columns (``crf.epro.completion``), so the
    visit schedule is computed once for both tables."""
    visits, params = visit_rows_sql(scope, days)
    expected = (schedule.DONE, schedule.MISSED, schedule.DUE, schedule.OVERDUE)
    columns, column_params, joins, join_params = completion_sql_parts()
    sql = f"""
        SELECT v.site_code, v.visit_code, GROUPING(v.visit_code) = 1 AS total,
               COUNT(*) FILTER (WHERE v.visit_order = 0) AS participants,
               COUNT(*) FILTER (WHERE v.state IN (%s, %s, %s, %s)) AS expected,
               COUNT(*) FILTER (WHERE v.state IN (%s, %s)) AS complete,
               COUNT(*) FILTER (WHERE v.state = %s) AS missed,
               COUNT(*) FILTER (WHERE v.state = %s) AS due,
               COUNT(*) FILTER (WHERE v.state = %s) AS overdue,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY
                   (v.completed_at AT TIME ZONE v.time_zone)::date - v.done_on
               ) AS median_entry_days,
               {columns}
          FROM ({visits}) AS v
          {joins}
         GROUP BY GROUPING SETS ((v.site_code, v.visit_code), (v.site_code))
    """
    return sql, [
        *expected,
        schedule.DONE,
        schedule.MISSED,
        schedule.MISSED,
        schedule.DUE,
        schedule.OVERDUE,
        *column_params,
        *params,
        *join_params,
    ]


def quality_tables(
    *,
    user,
    site_code: str | None = None,
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[list[SiteQuality], CompletionTable]:
    """Per site and visit: forms expected (window opened, participant not
    ended), complete (done or recorded as missed), due, overdue; median days
    from visit date to entry (site's local date of completion − visit date);
    and per site the participants in follow-up and the open (or answered)
    query count. With the questionnaires' completion of the same
    participants (``crf.epro.completion``; every site of the scope listed),
    from the same query. Four queries.
    """
    sites = sites_for(user).order_by("code")
    if site_code:
        sites = sites.filter(code=site_code.upper())
    sites = list(sites.values("code", "name"))
    scope = scoped(user, site_code)
    days = site_days(scope, today_by_site=today_by_site, now=now)
    sql, params = _quality_sql(scope, days)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    definitions = schedule.visit_definitions()
    labels = schedule.visit_labels()
    cells, totals, enrolled = {}, {}, {}

    def quality(row, code, label) -> VisitQuality:
        median = row["median_entry_days"]
        return VisitQuality(
            row["site_code"],
            code,
            label,
            expected=row["expected"],
            complete=row["complete"],
            missed=row["missed"],
            due=row["due"],
            overdue=row["overdue"],
            median_entry_days=None if median is None else float(median),
        )

    for row in rows:
        if row["total"]:
            totals[row["site_code"]] = quality(row, "", "All visits")
            enrolled[row["site_code"]] = row["participants"]
        else:
            cells[row["site_code"], row["visit_code"]] = quality(
                row, row["visit_code"], labels[row["visit_code"]]
            )
    open_queries = dict(
        DataQuery.objects.filter(
            participant__in=scope, status__in=UNRESOLVED_QUERY_STATUSES
        )
        .order_by()
        .values_list("participant__site__code")
        .annotate(n=Count("id"))
    )
    completion = CompletionTable(
        sites=[s["code"] for s in sites],
        visits=list(survey_visit_labels().items()),
        cells=completion_cells(rows),
    )
    return [
        SiteQuality(
            site_code=s["code"],
            site_name=s["name"],
            participants=enrolled.get(s["code"], 0),
            open_queries=open_queries.get(s["code"], 0),
            visits=[
                cells.get((s["code"], d.code))
                or VisitQuality(s["code"], d.code, d.label)
                for d in definitions
            ],
            totals=totals.get(s["code"]) or VisitQuality(s["code"], "", "All visits"),
        )
        for s in sites
    ], completion


def data_quality(**kwargs) -> list[SiteQuality]:
    """The forms table of ``quality_tables`` (same arguments)."""
    return quality_tables(**kwargs)[0]
