"""The visit schedule of many participants at once, as one SQL query.

``crf.schedule.visits.visit_schedule`` is the definition of a visit's window and
state, and what a single participant's pages use. The dashboards need every
visit of thousands of participants, sorted, counted and a page at a time; in
Python that costs about 0.1 ms per participant before anything is shown, so
here the same rules are written as SQL and the database sorts, counts and
pages. ``tests/crf/schedule/test_sql.py`` holds the two to each other: for a
cohort built around every window edge, death and withdrawal (complete or only
drafted) before, inside and after windows, and missed visits, each visit's
dates and state from this query equal what ``visit_schedule`` returns. A
change to the rules must be made in both (the test fails otherwise).

The inputs are the ones ``crf.schedule.inputs.schedule_inputs_for`` reads, by
the same rules, because the query joins the same querysets
(``surgeries_recorded``, ``follow_ups_recorded``, ``deaths_recorded``,
``withdrawals_recorded``) compiled to SQL: a complete (or signed) Death or
Withdrawal form ends the schedule, a draft one does not. The equivalence test
builds its expected schedules through that function, not by hand.

"Today" still comes from ``crf.schedule.visits.site_today``, once per site, and
enters the query as a parameter; the visit definitions come from
``crf.schedule.visits.visit_definitions``.
"""

import datetime
from collections.abc import Mapping

from django.db.models import Q, QuerySet

from crf.schedule import visits as schedule
from crf.schedule.inputs import (
    deaths_recorded,
    follow_ups_recorded,
    surgeries_recorded,
    withdrawals_recorded,
)
from perform.models import Participant, Site

# The state rules of visit_schedule, in its order: done, missed, not expected
# (death or withdrawal on or before the window's last day), upcoming, due,
# overdue.
_STATE = f"""
    CASE
        WHEN f.visit_date IS NOT NULL THEN '{schedule.DONE}'
        WHEN COALESCE(f.missed_reason, '') <> '' THEN '{schedule.MISSED}'
        WHEN p.ended_on IS NOT NULL
             AND p.surgery_date + d.window_end_day >= p.ended_on
             THEN '{schedule.NOT_EXPECTED}'
        WHEN p.today < p.surgery_date + d.window_start_day THEN '{schedule.UPCOMING}'
        WHEN p.today <= p.surgery_date + d.window_end_day THEN '{schedule.DUE}'
        ELSE '{schedule.OVERDUE}'
    END
"""

COLUMNS = {  # name: SQL type
    "participant_id": "bigint",
    "study_id": "text",
    "site_id": "bigint",
    "site_code": "text",
    "time_zone": "text",
    "today": "date",
    "surgery_date": "date",
    "visit_code": "text",
    "visit_order": "int",
    "target_date": "date",
    "window_start": "date",
    "window_end": "date",
    "done_on": "date",
    "missed_reason": "text",
    "completed_at": "timestamptz",
    "state": "text",
}


def table(model) -> str:
    """The quoted table name of ``model``, for SQL written here."""
    return f'"{model._meta.db_table}"'


def _subquery(queryset: QuerySet, *fields: str) -> tuple[str, list]:
    """SQL and parameters of ``queryset``'s ``fields``, to join as a table."""
    sql, params = queryset.order_by().values(*fields).query.sql_with_params()
    return sql, list(params)


def site_days(
    scope: QuerySet[Participant],
    *,
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> dict[int, datetime.date]:
    """Site id → the site's local date (one query), for the sites in ``scope``.

    ``today_by_site`` (site code → date) overrides a site's own date.
    """
    overrides = today_by_site or {}
    sites = Site.objects.filter(pk__in=scope.order_by().values("site_id")).values(
        "id", "code", "time_zone"
    )
    return {
        s["id"]: overrides.get(s["code"])
        or schedule.site_today(s["time_zone"], now=now)
        for s in sites
    }


def _as_of(queryset: QuerySet, date_field: str, as_of: datetime.date | None):
    """``queryset`` without the forms dated after ``as_of`` (undated ones
    kept), as ``crf.schedule.inputs.schedule_inputs_for`` reads them."""
    if as_of is None:
        return queryset
    return queryset.filter(
        Q(**{f"{date_field}__lte": as_of}) | Q(**{f"{date_field}__isnull": True})
    )


def visit_rows_sql(
    scope: QuerySet[Participant],
    days: Mapping[int, datetime.date],
    *,
    as_of: datetime.date | None = None,
) -> tuple[str, list]:
    """SQL and parameters of a SELECT with one row per visit of every
    participant in ``scope`` with a surgery date, with the columns of
    ``COLUMNS``; ``days`` is ``site_days(scope)`` (with ``as_of``: every site
    on that date).

    Use it as a subquery (``FROM (<sql>) AS v``). With no sites in ``days`` it
    selects nothing.
    """
    definitions = schedule.visit_definitions()
    if not days or not definitions:
        nothing = ", ".join(f"NULL::{kind} AS {name}" for name, kind in COLUMNS.items())
        return f"SELECT {nothing} WHERE false", []
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    definition_rows = ", ".join(
        "(%s, %s::int, %s::int, %s::int, %s::int)" for _ in definitions
    )
    definition_params = [
        value
        for order, d in enumerate(definitions)
        for value in (d.code, order, d.target_day, d.window_start_day, d.window_end_day)
    ]
    day_rows = ", ".join("(%s::bigint, %s::date)" for _ in days)
    day_params = [value for item in days.items() for value in item]
    surgeries, surgery_params = _subquery(
        _as_of(surgeries_recorded(), "surgery_date", as_of),
        "participant_id",
        "surgery_date",
    )
    deaths, death_params = _subquery(
        _as_of(deaths_recorded(), "death_date", as_of), "participant_id", "death_date"
    )
    withdrawals, withdrawal_params = _subquery(
        _as_of(withdrawals_recorded(), "withdrawal_date", as_of),
        "participant_id",
        "withdrawal_date",
    )
    follow_ups, follow_up_params = _subquery(
        _as_of(follow_ups_recorded(), "visit_date", as_of),
        "participant_id",
        "visit",
        "visit_date",
        "missed_reason",
        "completed_at",
    )
    sql = f"""
        WITH
        defs (code, ord, target_day, window_start_day, window_end_day) AS (
            VALUES {definition_rows}
        ),
        days (site_id, today) AS (VALUES {day_rows}),
        p AS (
            SELECT pp.id, pp.study_id, pp.site_id, s.code AS site_code,
                   s.time_zone,
                   days.today, o.surgery_date,
                   LEAST(dd.death_date, w.withdrawal_date) AS ended_on
              FROM {table(Participant)} pp
              JOIN {table(Site)} s ON s.id = pp.site_id
              JOIN days ON days.site_id = pp.site_id
              JOIN ({surgeries}) o ON o.participant_id = pp.id
              LEFT JOIN ({deaths}) dd ON dd.participant_id = pp.id
              LEFT JOIN ({withdrawals}) w ON w.participant_id = pp.id
             WHERE pp.id IN ({scope_sql})
        )
        SELECT p.id AS participant_id, p.study_id, p.site_id, p.site_code,
               p.time_zone,
               p.today, p.surgery_date, d.code AS visit_code, d.ord AS visit_order,
               p.surgery_date + d.target_day AS target_date,
               p.surgery_date + d.window_start_day AS window_start,
               p.surgery_date + d.window_end_day AS window_end,
               f.visit_date AS done_on,
               CASE WHEN f.visit_date IS NULL THEN COALESCE(f.missed_reason, '')
                    ELSE '' END AS missed_reason,
               f.completed_at,
               {_STATE} AS state
          FROM p
         CROSS JOIN defs d
          LEFT JOIN ({follow_ups}) f
                 ON f.participant_id = p.id AND f.visit = d.code
    """
    return sql, [
        *definition_params,
        *day_params,
        *surgery_params,
        *death_params,
        *withdrawal_params,
        *scope_params,
        *follow_up_params,
    ]
