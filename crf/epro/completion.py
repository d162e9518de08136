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
one for the sites' dates: two queries however many participants. Totals per
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


def _completion_sql(scope, days, as_of) -> tuple[str, list]:
    visits, params = visit_rows_sql(scope, days, as_of=as_of)
    mode_counts = ", ".join(
        f"COUNT(*) FILTER (WHERE r.completed AND r.mode = %s) AS mode_{n}"
        for n in range(len(MODES))
    )
    # The visit rows are read once (so the planner inlines them, rather than
    # materializing them for several readers): each row gives its follow-up
    # visit, and the participant's first row gives the baseline's too.
    sql = f"""
        WITH visit_rows AS (
            SELECT v.site_code, x.visit_code, v.today, v.time_zone,
                   x.window_start, x.window_end, v.participant_id,
                   x.not_expected, x.missed
              FROM ({visits}) AS v
             CROSS JOIN LATERAL (VALUES
                 -- Follow-up visits: closed by the window's last day.
                 (v.visit_code, v.window_start, v.window_end,
                  v.state = %s, v.missed_reason <> ''),
                 -- The baseline: open from consent, closed after the day of
                 -- surgery.
                 (%s::text, NULL::date, v.surgery_date, false, false)
             ) AS x (visit_code, window_start, window_end, not_expected, missed)
             WHERE x.visit_code <> %s OR v.visit_order = 0
        ),
        r AS (
            SELECT vr.*, a.mode,
                   COALESCE(
                       (a.submitted_at AT TIME ZONE vr.time_zone)::date <= vr.today,
                       false
                   ) AS completed
              FROM visit_rows vr
              LEFT JOIN {table(PromResponse)} a
                     ON a.participant_id = vr.participant_id
                    AND a.visit = vr.visit_code
                    AND a.status = %s
        )
        SELECT r.site_code, r.visit_code,
               COUNT(*) FILTER (
                   WHERE r.completed OR (NOT r.not_expected
                         AND (r.missed OR r.window_end < r.today))
               ) AS expected,
               COUNT(*) FILTER (WHERE r.completed) AS completed,
               {mode_counts},
               COUNT(*) FILTER (
                   WHERE NOT r.completed AND NOT r.not_expected AND NOT r.missed
                     AND COALESCE(r.window_start <= r.today, true)
                     AND r.today <= r.window_end
               ) AS open_now
          FROM r
         GROUP BY r.site_code, r.visit_code
    """
    return sql, [
        *params,
        schedule.NOT_EXPECTED,
        baseline_visit(),
        baseline_visit(),
        PromResponse.Status.SUBMITTED,
        *MODES,
    ]


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
        rows = cursor.fetchall()
    cells = {}
    for site, visit, expected, completed, *counts in rows:
        *modes, open_now = counts
        cells[site, visit] = Completion(
            expected=expected,
            completed=completed,
            by_mode=tuple(zip(MODES, modes, strict=True)),
            open_now=open_now,
        )
    listed = list(sites) if sites is not None else sorted({s for s, _v in cells})
    return CompletionTable(
        sites=listed,
        visits=list(survey_visit_labels().items()),
        cells=cells,
        as_of=as_of,
    )
