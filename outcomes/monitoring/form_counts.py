"""Per-site counts about forms, data queries and changes, for the key risk
indicators of ``outcomes.monitoring.indicators`` (PROTOCOL §14), each by one
SQL statement however many participants and forms there are.

The definitions (the docstring of ``indicators`` repeats them for the reader
of the indicator list):

* **Entry time** of a form: the calendar date, in the site's time zone, of
  ``completed_at`` (the data-quality view's "median entry delay" reads the
  same column the same way, ``crf.schedule.dashboards.quality``). A form is
  *entered* by ``as_of`` when it is complete (or signed) and its entry date
  is on or before ``as_of``. Drafts are not counted: a draft is data being
  typed, not entered. ``completed_at`` is the time of the latest complete
  save, so a form corrected after ``as_of`` leaves a past ``as_of``'s count
  and a corrected form counts as entered when it was corrected (as on the
  data-quality view; for ``as_of`` = today the count is exact).
* **Entered late**: entered more than 10 days after its event date (entry
  date − event date > 10). The event date is the date on which the site could
  first have entered the form: the assessment, surgery, discharge and visit
  dates of the baseline, operative, discharge and follow-up forms (the
  visit-based pages a data-entry-lag indicator is about), and an adverse
  event's awareness date (the site cannot enter what it has not learnt of;
  onset can be weeks earlier). Event forms the site learns of at an unknown
  time (reoperation, recurrence, death, withdrawal, deviation, the last
  often written by the Methods Centre) have no event date here; a follow-up
  recorded as missed has no visit date. Only forms with an event date enter
  the proportion.
* **Queries raised** by ``as_of``: raised (site-local date) on or before it,
  automatic ones included, on any form or visit of a participant in scope.
  **Open over 30 days**: of those, raised more than 30 days before ``as_of``
  (``as_of`` − raised date > 30) and unresolved on ``as_of``: not closed, or
  closed (site-local date) after ``as_of``. "Answered by the site" is
  unresolved, as on the data-quality view (the data manager has not yet
  accepted the answer). A query closed by ``as_of`` and re-opened later
  counts as unresolved (re-opening clears ``closed_at``).
* **Data changes**: saves of a form that was complete (or signed) before the
  save, read from the audit trail (django-pghistory's event tables): an
  ``update`` event that made a new ``version`` of the form (no earlier event
  of the form has that version) while an event of the previous version has
  a complete or signed status. ``crf.forms.services.form_save``
  raises the version by one on every save and demands a reason for change
  whenever the stored form is not a draft, so these are exactly the audited
  edits with a reason; signing and locking keep the version and are not
  counted, nor is the save that first completes a draft. Counted when the
  event's site-local date is on or before ``as_of``.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast
from pghistory import core as pghistory_core

from crf.forms.registry import FORMS
from crf.models import (
    COMPLETE_STATUSES,
    AdverseEvent,
    Baseline,
    DataQuery,
    Discharge,
    FollowUp,
    Operative,
)
from perform.models import Participant

LATE_ENTRY_DAYS = 10
OLD_QUERY_DAYS = 30
# The date from which each form could be entered (see the module docstring).
ENTRY_EVENT_DATE = {
    Baseline: "assessment_date",
    Operative: "surgery_date",
    Discharge: "discharge_date",
    FollowUp: "visit_date",
    AdverseEvent: "awareness_date",
}


class LocalDate(Func):
    """The calendar date of a timestamp in a time zone named on each row
    (``(ts AT TIME ZONE zone)::date``): Django's ``TruncDate`` takes one zone
    for the whole query, and every site has its own."""

    template = "((%(expressions)s)::date)"
    arg_joiner = " AT TIME ZONE "
    output_field = DateField()


def site_local_date(timestamp: str, participant_path: str = "participant") -> Func:
    """``LocalDate`` of ``timestamp`` at the site of the row's participant."""
    return LocalDate(F(timestamp), F(f"{participant_path}__site__time_zone"))


def _union_all(querysets: list[QuerySet]) -> tuple[str, list]:
    """One SELECT of the rows of every queryset (same columns, same order);
    ``EmptyResultSet`` if the scope is empty (a user who sees no site)."""
    parts = [qs.order_by().query.sql_with_params() for qs in querysets]
    sql = " UNION ALL ".join(f"({part_sql})" for part_sql, _params in parts)
    return sql, [value for _sql, params in parts for value in params]


def _fetch(sql: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def form_entry_counts(
    scope: QuerySet[Participant], *, as_of: datetime.date
) -> dict[str, dict[str, int]]:
    """Site code → ``entered`` (forms entered by ``as_of``), ``dated`` (those
    with an event date) and ``late`` (those entered over 10 days after it),
    over every form of the registry of the participants in ``scope``. One
    query."""
    entered = []
    for spec in FORMS.values():
        date_field = ENTRY_EVENT_DATE.get(spec.model)
        event_on = F(date_field) if date_field else Cast(Value(None), DateField())
        entered.append(
            spec.model.objects.filter(
                participant__in=scope, status__in=COMPLETE_STATUSES
            )
            .annotate(
                site_code=F("participant__site__code"),
                entered_on=site_local_date("completed_at"),
                event_on=Cast(event_on, DateField()),
            )
            .filter(entered_on__lte=as_of)
            .values("site_code", "entered_on", "event_on")
        )
    try:
        forms_sql, params = _union_all(entered)
    except EmptyResultSet:
        return {}
    # The union is SQL compiled by the ORM; every value is a bound parameter.
    sql = f"""
        SELECT f.site_code,
               COUNT(*) AS entered,
               COUNT(*) FILTER (WHERE f.event_on IS NOT NULL) AS dated,
               COUNT(*) FILTER (WHERE f.entered_on - f.event_on > %s) AS late
          FROM ({forms_sql}) AS f
         GROUP BY f.site_code
    """  # noqa: S608
    rows = _fetch(sql, [LATE_ENTRY_DAYS, *params])
    return {row["site_code"]: row for row in rows}


def _event_model(model) -> type:
    (event_model,) = pghistory_core.event_models(tracks_model=model)
    return event_model


def data_change_counts(
    scope: QuerySet[Participant], *, as_of: datetime.date
) -> Counter[str]:
    """Site code → changes to complete forms by ``as_of`` (the module
    docstring's rule), over every form of the registry. One query."""
    changes = []
    for spec in FORMS.values():
        events = _event_model(spec.model)
        was_complete = events.objects.filter(
            pgh_obj=OuterRef("pgh_obj"),
            version=OuterRef("version") - 1,
            status__in=COMPLETE_STATUSES,
        )
        # The event that made this version, not a later one that kept it
        # (signing, locking).
        earlier_same_version = events.objects.filter(
            pgh_obj=OuterRef("pgh_obj"),
            version=OuterRef("version"),
            pgh_id__lt=OuterRef("pgh_id"),
        )
        changes.append(
            events.objects.filter(pgh_label="update", participant__in=scope)
            .annotate(
                site_code=F("participant__site__code"),
                changed_on=site_local_date("pgh_created_at"),
            )
            .filter(
                Exists(was_complete),
                ~Exists(earlier_same_version),
                changed_on__lte=as_of,
            )
            .values("site_code")
        )
    try:
        changes_sql, params = _union_all(changes)
    except EmptyResultSet:
        return Counter()
    sql = f"SELECT c.site_code, COUNT(*) AS n FROM ({changes_sql}) AS c GROUP BY 1"  # noqa: S608 - compiled by the ORM
    rows = _fetch(sql, params)
    return Counter({row["site_code"]: row["n"] for row in rows})


def query_counts(
    scope: QuerySet[Participant], *, as_of: datetime.date
) -> dict[str, dict[str, int]]:
    """Site code → ``raised`` (queries raised by ``as_of``) and ``old_open``
    (of those, raised over 30 days before and unresolved on ``as_of``). One
    query."""
    old_before = as_of - datetime.timedelta(days=OLD_QUERY_DAYS)
    rows = (
        DataQuery.objects.filter(participant__in=scope)
        .annotate(
            raised_on=site_local_date("raised_at"),
            closed_on=site_local_date("closed_at"),  # NULL while not closed
        )
        .filter(raised_on__lte=as_of)
        .order_by()
        .values("participant__site__code")
        .annotate(
            raised=Count("pk"),
            old_open=Count(
                "pk",
                filter=Q(raised_on__lt=old_before)
                & (Q(closed_on__isnull=True) | Q(closed_on__gt=as_of)),
            ),
        )
    )
    return {row["participant__site__code"]: row for row in rows}


def digit_values(
    scope: QuerySet[Participant], *, as_of: datetime.date
) -> dict[str, dict[str, list[int]]]:
    """``{"eq_vas": {site: values}, "haemoglobin": {site: values}}``: the EQ
    VAS of complete baseline and follow-up forms and the haemoglobin of
    complete baseline forms, dated (assessment or visit date) on or before
    ``as_of``, of the participants in ``scope``. Two queries."""
    values: dict[str, dict[str, list[int]]] = {
        "eq_vas": defaultdict(list),
        "haemoglobin": defaultdict(list),
    }
    baselines = Baseline.objects.filter(
        participant__in=scope,
        status__in=COMPLETE_STATUSES,
        assessment_date__lte=as_of,
    ).values_list("participant__site__code", "eq5d_vas", "haemoglobin_g_l")
    for site_code, vas, haemoglobin in baselines.order_by("pk"):
        if vas is not None:
            values["eq_vas"][site_code].append(vas)
        if haemoglobin is not None:
            values["haemoglobin"][site_code].append(haemoglobin)
    follow_ups = FollowUp.objects.filter(
        participant__in=scope,
        status__in=COMPLETE_STATUSES,
        visit_date__lte=as_of,
        eq5d_vas__isnull=False,
    ).values_list("participant__site__code", "eq5d_vas")
    for site_code, vas in follow_ups.order_by("pk"):
        values["eq_vas"][site_code].append(vas)
    return {code: dict(by_site) for code, by_site in values.items()}
