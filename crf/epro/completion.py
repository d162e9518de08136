"""Completion of the patient-reported questionnaires (PROTOCOL §13): per site
and questionnaire visit, how many were expected and how many were answered,
for the Methods Centre's data-quality view and the open DSMB report.

The definition (the one both print; README "ePRO completion"):

* **Visits**: the baseline ("bl") and each follow-up visit of
  ``crf.schedule.visits.visit_definitions``, for the participants of the scope
  with a date of surgery (randomized and operated: the surgery anchors the
  follow-up windows and closes the baseline's).
* **Expected**: a visit is counted once it has been *decided*: its window has
  closed by the as-of date (a follow-up visit's last window day, or the day
  of surgery for the baseline, is before it), or it was answered, or the site
  recorded the follow-up visit as missed. A window still open is not a
  failure yet: it is shown apart as *open now* and enters neither count. Not
  expected: the visits the schedule calls ``not_expected`` (death or
  withdrawal before the window closed, the visit neither done nor recorded
  missed), unless they were answered before. A visit recorded as missed stays
  expected and counts as not answered (unless answered anyway).
* **Completed**: expected visits with a submitted ``PromResponse`` (any mode:
  personal link, clinic tablet, paper transcribed by staff), submitted by
  the as-of date (the site's calendar); also counted by mode.
* **Rate**: completed / expected, printed with its denominator,
  ``42 / 50 (84%)``; "—" when nothing is expected.

Why "window closed" and not "window opened": counting a visit as soon as its
window opens would show every participant in the middle of a window as a
non-responder and make a site that invites promptly look worse than one whose
windows have not opened; the DSMB report's form completeness (``outcomes``)
counts follow-up forms by the same rule (window closed, or done).

``prom_completion`` runs one query over the SQL visit schedule
(``crf.schedule.sql.visit_rows_sql``) joined to the submitted responses, plus
one for the sites' dates: two queries however many participants. The
data-quality view adds the same columns (``completion_sql_parts``) to its own
query over the visit schedule, so the page computes the schedule once. Totals per
site, per visit and overall are sums of the cells (each participant's visit
is one row), so every total reconciles with its cells.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from crf.epro.windows import baseline_visit, survey_visit_labels
from crf.models import PromResponse, ResponseMode
from crf.schedule import visits as schedule
from crf.schedule.sql import site_days, table, visit_rows_sql
from perform.models import Participant

MODES = tuple(ResponseMode.values)  # link, tablet, paper
NOTHING = "—"


@dataclass(frozen=True)
class Completion:
    """One cell: expected, completed (and by mode), open now."""

    expected: int = 0
    completed: int = 0
    by_mode: tuple[tuple[str, int], ...] = ()
    open_now: int = 0

    @property
    def rate(self) -> float | None:
        return self.completed / self.expected if self.expected else None

    @property
    def label(self) -> str:
        """``42 / 50 (84%)``, or "—" when nothing is expected."""
        if not self.expected:
            return NOTHING
        return f"{self.completed} / {self.expected} ({100 * self.rate:.0f}%)"

    def mode(self, mode: str) -> int:
        return dict(self.by_mode).get(mode, 0)

    @property
    def mode_counts(self) -> list[tuple[str, int]]:
        """(mode, completed) in ``MODES`` order (for templates)."""
        return [(mode, self.mode(mode)) for mode in MODES]

    def __add__(self, other: "Completion") -> "Completion":
        return Completion(
            expected=self.expected + other.expected,
            completed=self.completed + other.completed,
            by_mode=tuple((mode, self.mode(mode) + other.mode(mode)) for mode in MODES),
            open_now=self.open_now + other.open_now,
        )


EMPTY = Completion(by_mode=tuple((mode, 0) for mode in MODES))


def _total(cells: Iterable[Completion]) -> Completion:
    return sum(cells, EMPTY)


@dataclass(frozen=True)
class CompletionTable:
    """Cells by (site code, visit code); rows in ``sites`` order, columns in
    ``visits`` order (code, label), baseline first."""

    sites: list[str]
    visits: list[tuple[str, str]]
    cells: dict[tuple[str, str], Completion] = field(default_factory=dict)
    as_of: datetime.date | None = None

    def cell(self, site: str, visit: str) -> Completion:
        return self.cells.get((site, visit), EMPTY)

    def site_total(self, site: str) -> Completion:
        return _total(self.cell(site, code) for code, _label in self.visits)

    def visit_total(self, visit: str) -> Completion:
        return _total(self.cell(site, visit) for site in self.sites)

    @property
    def total(self) -> Completion:
        return _total(self.site_total(site) for site in self.sites)

    def rows(self) -> list[dict]:
        """Per site: (visit code, cell) in visit order and its total."""
        return [
            {
                "site": site,
                "cells": [
                    (code, self.cell(site, code)) for code, _label in self.visits
                ],
                "total": self.site_total(site),
            }
            for site in self.sites
        ]

    @property
    def visit_totals(self) -> list[Completion]:
        return [self.visit_total(code) for code, _label in self.visits]

    def as_rows(self) -> list[dict]:
        """One plain row per site and visit (every pair, zeros included)."""
        return [
            {
                "site": site,
                "visit": code,
                "expected": c.expected,
                "completed": c.completed,
                **{mode: c.mode(mode) for mode in MODES},
                "open_now": c.open_now,
            }
            for site in self.sites
            for code, _label in self.visits
            for c in [self.cell(site, code)]
        ]


# The completion of a follow-up visit's row ``v`` of the visit schedule
# (``crf.schedule.sql.visit_rows_sql``) joined to its submitted response ``a``,
# and of the participant's baseline, on the participant's first visit row
# joined to the baseline's response ``b``: submitted by the site's today.
_DONE = "COALESCE(({r}.submitted_at AT TIME ZONE v.time_zone)::date <= v.today, false)"
_FOLLOW_UP = {
    "done": _DONE.format(r="a"),
    "expected": (
        "{done} OR (v.state <> %s "
        "AND (v.missed_reason <> '' OR v.window_end < v.today))"
    ),
    "open_now": (
        "NOT {done} AND v.state <> %s AND v.missed_reason = '' "
        "AND v.window_start <= v.today AND v.today <= v.window_end"
    ),
    "mode": "a.mode",
}
# The baseline's window: from consent to the day of surgery (never missed,
# never "not expected").
_BASELINE = {
    "done": _DONE.format(r="b"),
    "expected": "{done} OR v.surgery_date < v.today",
    "open_now": "NOT {done} AND v.today <= v.surgery_date",
    "mode": "b.mode",
}


def completion_sql_parts() -> tuple[str, list, str, list]:
    """The completion columns and the joins they need, for a query over the
    visit rows ``v`` (``visit_rows_sql``) grouped by
    ``GROUPING SETS ((v.site_code, v.visit_code), (v.site_code))``: the
    ``fu_*`` columns of a (site, visit) row are that follow-up visit's cell,
    the ``bl_*`` columns of a site's total row are its baseline cell
    (``completion_cells`` reads them). Returns (select list, its parameters,
    joins, their parameters).

    The data-quality view adds these to its own query over the same visit
    rows, so the schedule is computed once for both tables; ``prom_completion``
    runs them alone. One definition, whoever asks.
    """
    columns, params = [], []
    for prefix, rule in (("fu", _FOLLOW_UP), ("bl", _BASELINE)):
        done = rule["done"]
        only = "v.visit_order = 0 AND " if prefix == "bl" else ""
        expected = rule["expected"].format(done=done)
        open_now = rule["open_now"].format(done=done)
        count = f"COUNT(*) FILTER (WHERE {only}"
        columns.append(f"{count}({expected})) AS {prefix}_expected")
        params += [schedule.NOT_EXPECTED] * expected.count("%s")
        columns.append(f"{count}{done}) AS {prefix}_completed")
        for n, mode in enumerate(MODES):
            columns.append(
                f"{count}{done} AND {rule['mode']} = %s) AS {prefix}_mode_{n}"
            )
            params.append(mode)
        columns.append(f"{count}({open_now})) AS {prefix}_open_now")
        params += [schedule.NOT_EXPECTED] * open_now.count("%s")
    joins = f"""
        LEFT JOIN {table(PromResponse)} a
               ON a.participant_id = v.participant_id
              AND a.visit = v.visit_code AND a.status = %s
        LEFT JOIN {table(PromResponse)} b
               ON v.visit_order = 0 AND b.participant_id = v.participant_id
              AND b.visit = %s AND b.status = %s
    """
    join_params = [
        PromResponse.Status.SUBMITTED,
        baseline_visit(),
        PromResponse.Status.SUBMITTED,
    ]
    return ",\n".join(columns), params, joins, join_params


def _cell(row: dict, prefix: str) -> Completion:
    return Completion(
        expected=row[f"{prefix}_expected"],
        completed=row[f"{prefix}_completed"],
        by_mode=tuple(
            (mode, row[f"{prefix}_mode_{n}"]) for n, mode in enumerate(MODES)
        ),
        open_now=row[f"{prefix}_open_now"],
    )


def completion_cells(rows: Iterable[dict]) -> dict[tuple[str, str], Completion]:
    """The cells (site, visit) of the rows of a query with
    ``completion_sql_parts``' columns (and ``site_code``, ``visit_code`` and
    ``total``, true on a site's total row)."""
    cells = {}
    for row in rows:
        if row["total"]:
            cells[row["site_code"], baseline_visit()] = _cell(row, "bl")
        else:
            cells[row["site_code"], row["visit_code"]] = _cell(row, "fu")
    return cells


def _completion_sql(scope, days, as_of) -> tuple[str, list]:
    visits, params = visit_rows_sql(scope, days, as_of=as_of)
    columns, column_params, joins, join_params = completion_sql_parts()
    sql = f"""
        SELECT v.site_code, v.visit_code, GROUPING(v.visit_code) = 1 AS total,
               {columns}
          FROM ({visits}) AS v
          {joins}
         GROUP BY GROUPING SETS ((v.site_code, v.visit_code), (v.site_code))
    """
    return sql, [*column_params, *params, *join_params]


def prom_completion(
    *,
    scope: QuerySet[Participant],
    as_of: datetime.date | None = None,
    sites: Iterable[str] | None = None,
    now: datetime.datetime | None = None,
) -> CompletionTable:
    """Questionnaire completion of the participants in ``scope``
    (``participants_for(user)`` for a page, ``participants_for_system()`` for
    a report) by site and visit, by the module's definition.

    ``as_of``: a data cut-off (every site on that date, forms and responses
    dated after it left out); default: each site's own date today (at
    ``now``). ``sites``: the site codes to list, in order (zeros included);
    default: the sites of the scope's operated participants. Two queries.
    """
    days = site_days(scope, now=now)
    if as_of is not None:
        days = dict.fromkeys(days, as_of)
    sql, params = _completion_sql(scope, days, as_of)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        cells = completion_cells(dict(zip(names, row, strict=True)) for row in cursor)
    listed = list(sites) if sites is not None else sorted({s for s, _v in cells})
    return CompletionTable(
        sites=listed,
        visits=list(survey_visit_labels().items()),
        cells=cells,
        as_of=as_of,
    )
