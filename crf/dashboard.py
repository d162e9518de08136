"""Reads for the dashboards: every visit state of every participant in scope,
what needs doing at a site, and the Methods Centre's data-quality figures.

Everything here runs a fixed number of SQL queries however many participants
or forms there are: rows are fetched in bulk with ``values()`` and the visit
states computed in Python by the one schedule function,
``crf.schedule.visit_schedule``. Participant scope comes from
``perform.selectors.participants_for``.
"""

import datetime
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import CharField, Count, F, OuterRef, QuerySet, Subquery, Value
from django.urls import reverse
from django.utils import timezone

from crf import schedule
from crf.models import DataQuery, Death, FollowUp, FormStatus, Operative, Withdrawal
from crf.registry import FORMS
from crf.schedule import VisitState, site_today, visit_schedule
from perform.models import Participant
from perform.selectors import participants_for, sites_for

OPENING_SOON_DAYS = 7
OPEN_QUERY_STATUSES = (DataQuery.Status.OPEN, DataQuery.Status.ANSWERED)
COMPLETE_STATUSES = (FormStatus.COMPLETE, FormStatus.SIGNED)


@dataclass(frozen=True)
class ParticipantVisits:
    """One participant's schedule, as computed for a dashboard."""

    participant_id: int
    study_id: str
    site_code: str
    today: datetime.date
    visits: list[VisitState]


def _scoped(user, site_code: str | None) -> QuerySet[Participant]:
    qs = participants_for(user)
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    return qs


def _first(model, field: str) -> Subquery:
    return Subquery(model.objects.filter(participant=OuterRef("pk")).values(field)[:1])


def _today_by_site(
    rows, today_by_site: Mapping[str, datetime.date] | None, now
) -> dict[str, datetime.date]:
    result = dict(today_by_site or {})
    for row in rows:
        if row["site__code"] not in result:
            result[row["site__code"]] = site_today(row["site__time_zone"], now=now)
    return result


def _schedule_rows(user, *, site_code: str | None = None):
    """(participants, complete follow-ups) in two queries.

    Participants are those in scope with a surgery date, each with the date
    their follow-up ended (death or withdrawal, whichever came first).
    """
    participants = list(
        _scoped(user, site_code)
        .annotate(
            surgery_date=_first(Operative, "surgery_date"),
            death_date=_first(Death, "death_date"),
            withdrawal_date=_first(Withdrawal, "withdrawal_date"),
        )
        .filter(surgery_date__isnull=False)
        .order_by()
        .values(
            "id",
            "study_id",
            "site__code",
            "site__time_zone",
            "surgery_date",
            "death_date",
            "withdrawal_date",
        )
    )
    follow_ups = list(
        FollowUp.objects.filter(
            participant__in=_scoped(user, site_code), status__in=COMPLETE_STATUSES
        ).values(
            "participant_id", "visit", "visit_date", "missed_reason", "completed_at"
        )
    )
    return participants, follow_ups


def _schedules(
    participants, follow_ups, *, today_by_site, now
) -> list[ParticipantVisits]:
    done: dict[int, dict] = defaultdict(dict)
    missed: dict[int, dict] = defaultdict(dict)
    for row in follow_ups:
        if row["visit_date"]:
            done[row["participant_id"]][row["visit"]] = row["visit_date"]
        elif row["missed_reason"]:
            missed[row["participant_id"]][row["visit"]] = row["missed_reason"]
    todays = _today_by_site(participants, today_by_site, now)
    visits = schedule.visit_definitions()
    result = []
    for row in participants:
        ended = [d for d in (row["death_date"], row["withdrawal_date"]) if d]
        today = todays[row["site__code"]]
        result.append(
            ParticipantVisits(
                participant_id=row["id"],
                study_id=row["study_id"],
                site_code=row["site__code"],
                today=today,
                visits=visit_schedule(
                    surgery_date=row["surgery_date"],
                    today=today,
                    done=done.get(row["id"]),
                    missed=missed.get(row["id"]),
                    ended_on=min(ended) if ended else None,
                    visits=visits,
                ),
            )
        )
    return result


def visits_for(
    user,
    *,
    site_code: str | None = None,
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> list[ParticipantVisits]:
    """Every visit state of every participant in ``user``'s scope (with a
    surgery date), in two queries.

    ``today_by_site`` (site code → date) overrides the sites' local dates.
    """
    participants, follow_ups = _schedule_rows(user, site_code=site_code)
    return _schedules(participants, follow_ups, today_by_site=today_by_site, now=now)


# ---------------------------------------------------------------------------
# Site dashboard
# ---------------------------------------------------------------------------
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
SORTS = [("date", "Date"), ("study_id", "Study ID")]


@dataclass(slots=True)
class Task:
    """One thing to do at a site: a row of the site dashboard.

    Built for every item in scope (thousands at the Methods Centre) but shown
    a page at a time, so the text shown is made by properties, not here.
    """

    kind: str
    study_id: str
    site_code: str
    date: datetime.date  # due by (visits), opens on, last saved, or raised on
    what: str
    anchor: str
    visit: VisitState | None = None
    note: str = ""

    @property
    def url(self) -> str:
        return _participant_url(self.study_id, self.anchor)

    @property
    def detail(self) -> str:
        v = self.visit
        if v is None:
            return self.note
        return (
            f"{_VISIT_DETAIL[self.kind]} {self.date:%Y-%m-%d} "
            f"(window {v.window_start:%Y-%m-%d} to {v.window_end:%Y-%m-%d})"
        )

    @property
    def kind_label(self) -> str:
        return dict(TASK_KINDS)[self.kind]


def _participant_url(study_id: str, anchor: str = "") -> str:
    url = reverse("participant_detail", args=[study_id])
    return f"{url}#{anchor}" if anchor else url


def _visit_tasks(schedules: list[ParticipantVisits]) -> list[Task]:
    tasks = []
    for p in schedules:
        soon = p.today + datetime.timedelta(days=OPENING_SOON_DAYS)
        for v in p.visits:
            state = v.state
            if state == schedule.DUE:
                kind, date = DUE, v.window_end
            elif state == schedule.OVERDUE:
                kind, date = OVERDUE, v.window_end
            elif state == schedule.UPCOMING and v.window_start <= soon:
                kind, date = OPENING, v.window_start
            else:
                continue
            tasks.append(
                Task(
                    kind,
                    p.study_id,
                    p.site_code,
                    date,
                    f"{v.visit.label} follow-up",
                    f"visit-{v.code}",
                    v,
                )
            )
    return tasks


def _draft_tasks(scope: QuerySet[Participant]) -> list[Task]:
    """Draft forms of every CRF model, in one UNION query."""
    parts = []
    for spec in FORMS.values():
        model = spec.model
        has_visit = any(f.name == "visit" for f in model._meta.fields)
        parts.append(
            model.objects.filter(participant__in=scope, status=FormStatus.DRAFT)
            .annotate(
                form_key=Value(spec.key, output_field=CharField()),
                visit_code=(
                    F("visit") if has_visit else Value("", output_field=CharField())
                ),
                study_id=F("participant__study_id"),
                site_code=F("participant__site__code"),
            )
            .order_by()
            .values(
                "form_key", "visit_code", "id", "study_id", "site_code", "updated_at"
            )
        )
    if not parts:
        return []
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    labels = {key: spec.label for key, spec in FORMS.items()}
    tasks = []
    for row in rows:
        label = labels[row["form_key"]]
        if row["visit_code"]:
            label = f"{label} {row['visit_code']}"
        tasks.append(
            Task(
                kind=DRAFT,
                study_id=row["study_id"],
                site_code=row["site_code"],
                date=timezone.localdate(row["updated_at"]),
                what=f"{label} (draft)",
                anchor=f"form-{row['form_key']}-{row['id']}",
                note="last saved",
            )
        )
    return tasks


def _query_tasks(scope: QuerySet[Participant]) -> list[Task]:
    rows = (
        DataQuery.objects.filter(participant__in=scope, status__in=OPEN_QUERY_STATUSES)
        .order_by()
        .values(
            "id",
            "field_name",
            "text",
            "status",
            "raised_at",
            "participant__study_id",
            "participant__site__code",
            "form_type__model",
        )
    )
    status_labels = dict(DataQuery.Status.choices)
    tasks = []
    for row in rows:
        where = row["field_name"] or row["form_type__model"]
        tasks.append(
            Task(
                kind=QUERY,
                study_id=row["participant__study_id"],
                site_code=row["participant__site__code"],
                date=timezone.localdate(row["raised_at"]),
                what=f"Query on {where} ({status_labels[row['status']].lower()})",
                anchor=f"query-{row['id']}",
                note=row["text"][:120],
            )
        )
    return tasks


def site_tasks(
    *,
    user,
    site_code: str | None = None,
    kind: str | None = None,
    sort: str = "date",
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> list[Task]:
    """What needs doing at the sites in ``user``'s scope: visits overdue, due
    and opening within a week, draft forms, open or answered queries.

    Four queries whatever the data. Sorted by date (oldest first) or study ID.
    """
    scope = _scoped(user, site_code)
    tasks: list[Task] = []
    if kind in (None, "", DUE, OVERDUE, OPENING):
        tasks += _visit_tasks(
            visits_for(user, site_code=site_code, today_by_site=today_by_site, now=now)
        )
        if kind:
            tasks = [t for t in tasks if t.kind == kind]
    if kind in (None, "", DRAFT):
        tasks += _draft_tasks(scope)
    if kind in (None, "", QUERY):
        tasks += _query_tasks(scope)
    order = [k for k, _label in TASK_KINDS]
    if sort == "study_id":
        tasks.sort(key=lambda t: (t.study_id, order.index(t.kind), t.date))
    else:
        tasks.sort(key=lambda t: (t.date, order.index(t.kind), t.study_id))
    return tasks


def task_counts(tasks: list[Task]) -> list[tuple[str, str, int]]:
    counts = defaultdict(int)
    for task in tasks:
        counts[task.kind] += 1
    return [(k, label, counts[k]) for k, label in TASK_KINDS]


# ---------------------------------------------------------------------------
# Methods Centre data quality
# ---------------------------------------------------------------------------
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
    entry_days: list[int] | None = None

    @property
    def median_entry_days(self) -> float | None:
        return statistics.median(self.entry_days) if self.entry_days else None

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

    @property
    def totals(self) -> VisitQuality:
        total = VisitQuality(self.site_code, "", "All visits", entry_days=[])
        for v in self.visits:
            total.expected += v.expected
            total.complete += v.complete
            total.missed += v.missed
            total.due += v.due
            total.overdue += v.overdue
            total.entry_days += v.entry_days or []
        return total


def data_quality(
    *,
    user,
    site_code: str | None = None,
    today_by_site: Mapping[str, datetime.date] | None = None,
    now: datetime.datetime | None = None,
) -> list[SiteQuality]:
    """Per site and visit: forms expected (window opened, participant not
    ended), complete (done or recorded as missed), due, overdue; median days
    from visit date to entry (local date of completion − visit date); and the
    site's open (or answered) query count. Four queries.
    """
    sites = sites_for(user).order_by("code")
    if site_code:
        sites = sites.filter(code=site_code.upper())
    sites = list(sites.values("code", "name", "time_zone"))
    participants, follow_ups = _schedule_rows(user, site_code=site_code)
    schedules = _schedules(
        participants, follow_ups, today_by_site=today_by_site, now=now
    )
    definitions = schedule.visit_definitions()
    table = {
        (s["code"], d.code): VisitQuality(s["code"], d.code, d.label, entry_days=[])
        for s in sites
        for d in definitions
    }
    enrolled = defaultdict(int)
    for p in schedules:
        enrolled[p.site_code] += 1
        for v in p.visits:
            cell = table.get((p.site_code, v.code))
            if cell is None:
                continue
            if v.state in (schedule.DONE, schedule.MISSED):
                cell.expected += 1
                cell.complete += 1
                cell.missed += v.state == schedule.MISSED
            elif v.state == schedule.DUE:
                cell.expected += 1
                cell.due += 1
            elif v.state == schedule.OVERDUE:
                cell.expected += 1
                cell.overdue += 1
    zones = {s["code"]: ZoneInfo(s["time_zone"]) for s in sites}
    site_of = {p["id"]: p["site__code"] for p in participants}
    for row in follow_ups:
        code = site_of.get(row["participant_id"])
        cell = table.get((code, row["visit"]))
        if cell is None or not (row["visit_date"] and row["completed_at"]):
            continue
        entered = row["completed_at"].astimezone(zones[code]).date()
        cell.entry_days.append((entered - row["visit_date"]).days)
    open_queries = dict(
        DataQuery.objects.filter(
            participant__in=_scoped(user, site_code),
            status__in=OPEN_QUERY_STATUSES,
        )
        .order_by()
        .values_list("participant__site__code")
        .annotate(n=Count("id"))
    )
    return [
        SiteQuality(
            site_code=s["code"],
            site_name=s["name"],
            participants=enrolled[s["code"]],
            open_queries=open_queries.get(s["code"], 0),
            visits=[table[s["code"], d.code] for d in definitions],
        )
        for s in sites
    ]
