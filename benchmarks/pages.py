"""Server time of the pages coordinators and the Methods Centre open all day:
the site dashboard, a participant page, the data-quality view and the audit
pages of a participant with a long history.

Run by ``make bench`` (not by ``make test``); alone::

    eval "$(.venv/bin/python scripts/services.py env --profile bench)"
    PYTHONPATH=. .venv/bin/python benchmarks/pages.py [--participants 5000] [--n 50]

Like every benchmark it creates its own scratch database
``perform_bench_pages_<pid>`` on the server of ``DATABASE_URL``, migrates it and
drops it at the end, whatever happens (``benchmarks/common.py``). It seeds
``--participants`` randomized participants over five sites (bulk inserts, not
the services), each with a complete baseline and operative form and full
follow-up so far: surgery dates spread over the last 15 months, about 90% of
the visits whose window has opened done (entered 0–14 days after the visit),
3% recorded as missed, the rest due or overdue; one in ten has a draft
follow-up and one in eight an open query, and runs ANALYZE (as autovacuum
would after a bulk load). Then it times each page through ``django.test.Client``
(logged in with ``force_login``) ``--n`` times after two warm-up requests, and
prints p50/p95 server time (request in, response out: middleware, views, SQL
and templates, no network), the SQL query count and the response size.

Target (issue 4, must-show 6; reported, not asserted): p95 under 150 ms.
"""

import argparse
import datetime
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

SITES = (
    ("TOR", "America/Toronto"),
    ("HAM", "Europe/Berlin"),
    ("SYD", "Australia/Sydney"),
    ("LON", "Europe/London"),
    ("BOS", "America/New_York"),
)
TARGET_MS = 150
SEED = 20250401


def seed(participants: int):
    """Return (users by role, a study ID with full follow-up)."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from crf.models import Baseline, DataQuery, FollowUp, FormStatus, Operative
    from crf.schedule.visits import site_today, visit_definitions
    from perform import roles
    from perform.models import Participant, ParticipantStatus, Site

    rng = random.Random(SEED)
    today = timezone.localdate()
    sites = [
        Site.objects.create(
            code=code,
            name=f"{code} (bench)",
            country="Bench",
            time_zone=zone,
            activation_date=today - datetime.timedelta(days=500),
            target_enrolment=participants,
        )
        for code, zone in SITES
    ]
    users = {
        "coordinator": common.user_with_role(
            "coordinator", roles.SITE_COORDINATOR, [sites[0]]
        ),
        "datamanager": common.user_with_role("datamanager", roles.DATA_MANAGER),
    }
    actor = users["coordinator"]
    now = timezone.now()
    people = []
    for index, site in enumerate(sites):
        count = participants // len(sites) + (index < participants % len(sites))
        people += [
            Participant(
                study_id=f"PRF-{site.code}-{n:04d}",
                site=site,
                sequence=n,
                screening_date=today - datetime.timedelta(days=460),
                age_at_screening=rng.randint(40, 90),
                sex=rng.choice(["female", "male"]),
                fracture_status=rng.choice(["impending", "complete"]),
                status=ParticipantStatus.RANDOMIZED,
                status_changed_at=now,
                created_by=actor,
            )
            for n in range(1, count + 1)
        ]
        site.last_participant_number = count
        site.save(update_fields=["last_participant_number"])
    people = Participant.objects.bulk_create(people, batch_size=2000)
    zones = {site.pk: site.time_zone for site in sites}

    def form(p, **fields):
        return {
            "participant": p,
            "status": FormStatus.COMPLETE,
            "created_by": actor,
            "updated_by": actor,
            "completed_at": now,
            **fields,
        }

    operatives, follow_ups, baselines = [], [], []
    visits = visit_definitions()
    full = None
    for p in people:
        local_today = site_today(zones[p.site_id])
        surgery = local_today - datetime.timedelta(days=rng.randint(0, 450))
        operatives.append(Operative(**form(p, surgery_date=surgery)))
        baselines.append(Baseline(**form(p, assessment_date=surgery)))
        drafted = rng.random() < 0.1
        for v in visits:
            start = surgery + datetime.timedelta(days=v.window_start_day)
            if start > local_today:
                break
            roll = rng.random()
            if roll < 0.9:
                visit_date = min(
                    surgery + datetime.timedelta(days=v.target_day), local_today
                )
                entered = visit_date + datetime.timedelta(days=rng.randint(0, 14))
                follow_ups.append(
                    FollowUp(
                        **form(
                            p,
                            visit=v.code,
                            visit_date=visit_date,
                            vital_status="alive",
                            completed_at=datetime.datetime.combine(
                                entered, datetime.time(16), tzinfo=datetime.UTC
                            ),
                        )
                    )
                )
                if v.code == "12m" and full is None:
                    full = p.study_id
            elif roll < 0.93:
                follow_ups.append(
                    FollowUp(**form(p, visit=v.code, missed_reason="Too unwell"))
                )
            elif drafted:
                follow_ups.append(
                    FollowUp(**form(p, status=FormStatus.DRAFT, visit=v.code))
                )
                drafted = False
    Operative.objects.bulk_create(operatives, batch_size=2000)
    baselines = Baseline.objects.bulk_create(baselines, batch_size=2000)
    FollowUp.objects.bulk_create(follow_ups, batch_size=2000)
    baseline_type = ContentType.objects.get_for_model(Baseline)
    DataQuery.objects.bulk_create(
        [
            DataQuery(
                participant_id=b.participant_id,
                form_type=baseline_type,
                form_id=b.pk,
                field_name="assessment_date",
                text="Please check the assessment date.",
                raised_by=users["datamanager"],
            )
            for b in baselines
            if rng.random() < 0.125
        ],
        batch_size=2000,
    )
    return users, full or people[0].study_id


AUDIT_CHANGES = 300


def audit_history_seed(study_id: str, actor, changes: int = AUDIT_CHANGES) -> int:
    """Give ``study_id`` a long audit trail: ``changes`` edits of their
    baseline and follow-up forms, each in its own transaction with a user and
    a reason, as the form pages write them. Returns the participant's event
    count (their forms' bulk inserts included)."""
    import pghistory

    from crf.models import Baseline, FollowUp
    from perform.audit_trail import audit_trail
    from perform.models import Participant

    participant = Participant.objects.select_related("site").get(study_id=study_id)
    follow_ups = list(FollowUp.objects.filter(participant=participant))
    for n in range(changes):
        with pghistory.context(
            user=actor.pk, username=actor.username, reason=f"Source check {n}"
        ):
            if n % 2:
                Baseline.objects.filter(participant=participant).update(
                    eq5d_vas=n % 100, tess_1=1 + n % 5, version=n + 2
                )
            else:
                form = follow_ups[n % len(follow_ups)]
                FollowUp.objects.filter(pk=form.pk).update(
                    msts_pain=n % 6, eq5d_vas=n % 100, version=n + 2
                )
    return audit_trail(participant=participant).count()


def data_sizes() -> list[tuple[str, int]]:
    from crf.models import Baseline, DataQuery, FollowUp, FormStatus, Operative
    from perform.models import Participant

    return [
        ("participants", Participant.objects.count()),
        ("operative forms", Operative.objects.count()),
        ("baseline forms", Baseline.objects.count()),
        ("follow-up forms", FollowUp.objects.count()),
        ("draft follow-ups", FollowUp.objects.filter(status=FormStatus.DRAFT).count()),
        ("open queries", DataQuery.objects.count()),
    ]


def measure(client, url: str, n: int) -> dict:
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = len(response.content)
    client.get(url)  # warm-up
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "queries": len(statements),
        "kb": size / 1024,
    }


def profile(client, url: str) -> None:
    """Print where one request spends its time: SQL (per statement) and the
    Python functions with the most cumulative time."""
    import cProfile
    import pstats

    from django.db import connection

    statements = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - started) * 1000, sql))

    profiler = cProfile.Profile()
    with connection.execute_wrapper(timed):
        started = time.perf_counter()
        profiler.enable()
        client.get(url)
        profiler.disable()
        total = (time.perf_counter() - started) * 1000
    sql = sum(ms for ms, _ in statements)
    print(f"\n== {url}: {total:.0f} ms, of which SQL {sql:.0f} ms")
    for ms, text in sorted(statements, reverse=True)[:5]:
        print(f"  {ms:7.1f} ms  {text[:150]}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def benchmark(*, participants: int, n: int, profiled: bool = False) -> int:
    common.django_setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # lets the test client's host through
    started = time.perf_counter()
    common.migrate()
    migrated = time.perf_counter()
    users, study_id = seed(participants)
    common.analyze()
    seeded = time.perf_counter()
    print(
        f"Migrated in {migrated - started:.1f} s; seeded {participants} "
        f"participants in {seeded - migrated:.1f} s."
    )
    pages = [
        ("site dashboard, coordinator (1 site)", "coordinator", "dashboards:site", []),
        ("site dashboard, all sites", "datamanager", "dashboards:site", []),
        ("participant page", "coordinator", "participant_detail", [study_id]),
        ("data-quality view, all sites", "datamanager", "dashboards:data_quality", []),
        ("record status, coordinator", "coordinator", "dashboards:record_status", []),
        ("record status, all sites", "datamanager", "dashboards:record_status", []),
    ]
    rows = []
    # The audit pages of a participant with a long history (issue 15).
    events = audit_history_seed(study_id, users["coordinator"])
    print(f"{study_id} has {events} audit events.")
    pages += [
        ("participant audit trail", "coordinator", "participant_audit", [study_id]),
        (
            "baseline form history",
            "coordinator",
            "crf:single_history",
            [study_id, "baseline"],
        ),
    ]
    for label, role, name, args in pages:
        client = Client()
        client.force_login(users[role])
        rows.append((label, measure(client, reverse(name, args=args), n)))
        if profiled:
            profile(client, reverse(name, args=args))
    print()
    print(f"Server time over {n} requests each (django.test.Client, no network)")
    header = f"{'page':<38} {'p50 ms':>7} {'p95 ms':>7} {'queries':>7} {'KB':>7}"
    print(header)
    print("-" * len(header))
    for label, r in rows:
        print(
            f"{label:<38} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['queries']:>7} "
            f"{r['kb']:>7.1f}"
        )
    print()
    for label, r in rows:
        met = "met" if r["p95"] < TARGET_MS else "NOT met"
        print(f"  target p95 < {TARGET_MS} ms, {label}: {met}")
    print()
    print("Data: " + ", ".join(f"{name} {count}" for name, count in data_sizes()))
    print(f"Total {time.perf_counter() - started:.0f} s.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--n", type=int, default=50, help="requests per page (50)")
    parser.add_argument(
        "--profile", action="store_true", help="print a profile of each page"
    )
    args = parser.parse_args()
    return common.scratch_database_run(
        "perform_bench_pages",
        lambda params: benchmark(
            participants=args.participants, n=args.n, profiled=args.profile
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
