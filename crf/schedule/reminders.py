"""Visit reminders (PROTOCOL §6): the hourly sweep that writes each site's
daily digest and the Methods Centre's weekly digest into the outbox.

A site's coordinators get one e-mail a day, at the first sweep after
``REMINDERS["DAILY_HOUR"]`` in the site's own time zone, listing the visits
whose window opens within ``OPENING_DAYS`` days, those whose window closes
within ``CLOSING_DAYS`` days, and every overdue visit, each with a link to its
form. Data managers get one e-mail a week (the first sweep after
``WEEKLY_HOUR`` UTC on ``WEEKLY_DAY``) of overdue visits and open queries at
every site. Users who opted out (``User.receives_visit_reminders``) get
neither; nobody gets an empty digest.

The sweep is set-based: a fixed number of queries however many visits (the
visit states come from ``crf.schedule.sql``, one query for every site). It is
idempotent: an e-mail's outbox key names its recipient and day (or week), so
running it again the same day, or after a worker was killed mid-sweep, adds
nothing; a digest written but not yet sent is sent by the outbox. Every visit
listed is recorded (``VisitReminder``) with the e-mail that carries it.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from crf.forms.registry import FORMS, form_url
from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery, VisitReminder
from crf.schedule import visits as schedule
from crf.schedule.sql import site_days, visit_rows_sql
from infrastructure.models import OutboundEmail
from infrastructure.outbox import Email, emails_queue
from perform import roles
from perform.models import Site, User
from perform.selectors import participants_for_system

REASON_ORDER = [
    VisitReminder.Reason.OVERDUE,
    VisitReminder.Reason.CLOSING,
    VisitReminder.Reason.OPENING,
]


@dataclass(frozen=True)
class SweepResult:
    daily_emails: int
    weekly_emails: int
    visits_listed: int


@dataclass(frozen=True)
class ListedVisit:
    participant_id: int
    study_id: str
    site_id: int
    visit: str
    reason: str
    window_start: datetime.date
    window_end: datetime.date
    today: datetime.date
    label: str

    @property
    def url(self) -> str:
        return settings.SITE_URL + form_url(
            self.study_id, FORMS["follow-up"], visit=self.visit
        )

    @property
    def days_overdue(self) -> int:
        return (self.today - self.window_end).days


def _listed_visits(site_ids, *, now) -> list[ListedVisit]:
    """Visits to remind at ``site_ids``: opening soon, closing soon, overdue
    (one query, plus one for the sites' dates)."""
    conf = settings.REMINDERS
    scope = participants_for_system().filter(site_id__in=site_ids)
    days = site_days(scope, now=now)
    visits, params = visit_rows_sql(scope, days)
    sql = f"""
        SELECT v.participant_id, v.study_id, v.site_id, v.visit_code,
               CASE v.state WHEN %s THEN %s WHEN %s THEN %s ELSE %s END,
               v.window_start, v.window_end, v.today
          FROM ({visits}) AS v
         WHERE v.state = %s
            OR (v.state = %s AND v.window_start <= v.today + %s::int)
            OR (v.state = %s AND v.window_end <= v.today + %s::int)
         ORDER BY v.study_id, v.visit_order
    """
    R = VisitReminder.Reason
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                schedule.OVERDUE,
                R.OVERDUE,
                schedule.UPCOMING,
                R.OPENING,
                R.CLOSING,
                *params,
                schedule.OVERDUE,
                schedule.UPCOMING,
                conf["OPENING_DAYS"],
                schedule.DUE,
                conf["CLOSING_DAYS"],
            ],
        )
        labels = schedule.visit_labels()
        return [ListedVisit(*row, labels[row[3]]) for row in cursor.fetchall()]


def _daily_due(sites, now) -> dict[int, datetime.date]:
    """Site id → local date, for sites whose daily digest time has come."""
    hour = settings.REMINDERS["DAILY_HOUR"]
    due = {}
    for site in sites:
        local = now.astimezone(ZoneInfo(site["time_zone"]))
        if local.hour >= hour:
            due[site["id"]] = local.date()
    return due


def _weekly_due(now) -> datetime.date | None:
    """The date naming this week's Methods Centre digest, once it is due."""
    conf = settings.REMINDERS
    utc = now.astimezone(datetime.UTC)
    week_day = utc.date() + datetime.timedelta(days=conf["WEEKLY_DAY"] - utc.weekday())
    if (utc.weekday(), utc.hour) < (conf["WEEKLY_DAY"], conf["WEEKLY_HOUR"]):
        return None
    return week_day


def _recipients(group: str, *, site_ids=None) -> list[dict]:
    users = User.objects.filter(
        is_active=True, receives_visit_reminders=True, groups__name=group
    ).exclude(email="")
    if site_ids is None:
        return list(users.values("id", "email", "first_name", "username").distinct())
    return list(
        users.filter(memberships__site_id__in=site_ids)
        .values("id", "email", "first_name", "username", "memberships__site_id")
        .distinct()
    )


def _grouped(visits: list[ListedVisit]) -> list[dict]:
    """Visits by reason (overdue first), for the digest templates."""
    grouped = defaultdict(list)
    for v in visits:
        grouped[v.reason].append(v)
    return [
        {"reason": r, "label": VisitReminder.Reason(r).label, "visits": grouped[r]}
        for r in REASON_ORDER
        if grouped[r]
    ]


def reminders_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Write the digests due at ``now`` (default: the current time) into the
    outbox, with a ``VisitReminder`` row per visit listed; the outbox sends
    them once this commits."""
    now = now or timezone.now()
    sites = list(
        Site.objects.filter(is_active=True).values("id", "code", "name", "time_zone")
    )
    site_by_id = {s["id"]: s for s in sites}
    daily = _daily_due(sites, now)
    weekly = _weekly_due(now)
    wanted_sites = list(site_by_id) if weekly else list(daily)
    if not wanted_sites:
        return SweepResult(0, 0, 0)
    coordinators = _recipients(roles.SITE_COORDINATOR, site_ids=list(daily))
    managers = _recipients(roles.DATA_MANAGER) if weekly else []
    keys = {
        _daily_key(site_by_id[site_id], c, daily[site_id])
        for c in coordinators
        for site_id in [c["memberships__site_id"]]
    } | {_weekly_key(m, weekly) for m in managers}
    done = set(OutboundEmail.objects.filter(key__in=keys).values_list("key", flat=True))
    if keys <= done:
        return SweepResult(0, 0, 0)

    visits = _listed_visits(wanted_sites, now=now)
    by_site = defaultdict(list)
    for v in visits:
        by_site[v.site_id].append(v)
    emails, listed = [], []  # listed: (email key, digest, user id, for date, visit)
    for c in coordinators:
        site = site_by_id[c["memberships__site_id"]]
        key = _daily_key(site, c, daily[site["id"]])
        items = by_site.get(site["id"], [])
        if key in done or not items:
            continue
        emails.append(_daily_email(key, site, c, daily[site["id"]], items))
        listed += [
            (key, VisitReminder.Digest.DAILY, c["id"], daily[site["id"]], v)
            for v in items
        ]
    if managers:
        overdue = [v for v in visits if v.reason == VisitReminder.Reason.OVERDUE]
        queries = _open_queries_by_site()
        for m in managers:
            key = _weekly_key(m, weekly)
            if key in done or not (overdue or queries):
                continue
            emails.append(_weekly_email(key, m, weekly, sites, overdue, queries))
            listed += [
                (key, VisitReminder.Digest.WEEKLY, m["id"], weekly, v) for v in overdue
            ]
    with transaction.atomic():
        ids = emails_queue(emails)
        VisitReminder.objects.bulk_create(
            [
                VisitReminder(
                    email_id=ids[key],
                    digest=digest,
                    recipient_id=user_id,
                    participant_id=v.participant_id,
                    site_id=v.site_id,
                    visit=v.visit,
                    reason=v.reason,
                    for_date=for_date,
                    window_start=v.window_start,
                    window_end=v.window_end,
                )
                for key, digest, user_id, for_date, v in listed
                if key in ids
            ],
            ignore_conflicts=True,
        )
    daily_count = sum(1 for e in emails if e.kind == "visit_digest" and e.key in ids)
    return SweepResult(
        daily_emails=daily_count,
        weekly_emails=sum(1 for e in emails if e.key in ids) - daily_count,
        visits_listed=sum(1 for item in listed if item[0] in ids),
    )


def _daily_key(site, user, day: datetime.date) -> str:
    return f"visit-digest:{site['code']}:{user['id']}:{day.isoformat()}"


def _weekly_key(user, day: datetime.date) -> str:
    return f"weekly-digest:{user['id']}:{day.isoformat()}"


def _open_queries_by_site() -> dict[str, int]:
    return dict(
        DataQuery.objects.filter(
            participant__in=participants_for_system(),
            status__in=UNRESOLVED_QUERY_STATUSES,
        )
        .order_by()
        .values_list("participant__site__code")
        .annotate(n=Count("id"))
    )


def _daily_email(key, site, user, day, items) -> Email:
    groups = _grouped(items)
    context = {
        "user": user,
        "site": site,
        "day": day,
        "groups": groups,
        "dashboard_url": settings.SITE_URL + reverse("dashboards:site"),
        "settings_url": settings.SITE_URL + reverse("notification_settings"),
    }
    summary = ", ".join(f"{len(g['visits'])} {g['label'].lower()}" for g in groups)
    return Email(
        key=key,
        kind="visit_digest",
        to=[user["email"]],
        subject=f"PERFORM {site['code']}: visits for {day:%Y-%m-%d} ({summary})",
        body_text=render_to_string("crf/email/visit_digest.txt", context),
        body_html=render_to_string("crf/email/visit_digest.html", context),
    )


def _weekly_email(key, user, day, sites, overdue, queries) -> Email:
    by_site = defaultdict(list)
    for v in overdue:
        by_site[v.site_id].append(v)
    rows = [
        {
            "site": s,
            "overdue": by_site.get(s["id"], []),
            "open_queries": queries.get(s["code"], 0),
        }
        for s in sites
    ]
    context = {
        "user": user,
        "day": day,
        "rows": rows,
        "overdue_total": len(overdue),
        "queries_total": sum(queries.values()),
        "quality_url": settings.SITE_URL + reverse("dashboards:data_quality"),
        "settings_url": settings.SITE_URL + reverse("notification_settings"),
    }
    return Email(
        key=key,
        kind="weekly_digest",
        to=[user["email"]],
        subject=(
            f"PERFORM week of {day:%Y-%m-%d}: {len(overdue)} overdue visits, "
            f"{context['queries_total']} open queries"
        ),
        body_text=render_to_string("crf/email/weekly_digest.txt", context),
        body_html=render_to_string("crf/email/weekly_digest.html", context),
    )
