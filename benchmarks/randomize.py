"""Throughput and latency of ``participant_randomize`` next to a bare SQL loop.

Run by ``make bench`` (not by ``make test``); alone::

    eval "$(.venv/bin/python scripts/services.py env --profile bench)"
    PYTHONPATH=. .venv/bin/python benchmarks/randomize.py [--n 400] [--profile] \\
        [--mode threads|processes|both] [--workers 1,4,16]

On PostgreSQL, it:

1. creates its own scratch database ``perform_bench_<pid>`` on the server of
   ``DATABASE_URL`` (the database named there is never touched), migrates it,
   and drops it at the end, whatever happens;
2. seeds two sites, a coordinator per site, a randomizer and a statistician, an
   active allocation list (site × fracture status: four strata) and consented
   eligible participants spread evenly over the four strata (one per stratum
   through the trial services, the rest bulk copies of those with the same
   rows): a fresh ``--n`` for every run (mode × worker count), ``--n`` for the
   bare loop and a few for a single-thread warm-up (measured in detail;
   ``--profile`` prints its cProfile);
3. for each mode (``--mode``, default both) and worker count (``--workers``,
   default 1, 4, 16) randomizes ``--n`` participants from that many workers,
   each with its own database connection (opened before the clock starts,
   closed when the worker ends), through
   ``randomization.services.participant_randomize``; then assigns ``--n`` slots
   with the bare loop: in one transaction, ``SELECT ... FOR UPDATE`` of the
   stratum's next unused slot and an ``UPDATE`` of it, on plain psycopg2
   connections. The bare loop's slots are released after each run, so both
   paths always work on the same list and the same tables. After every run the
   allocations are checked: each randomized participant holds exactly one
   slot, and each stratum's used slots run 1, 2, 3, ... without a gap.

Modes. ``threads``: the workers are threads of this one Python process, so
they share one GIL and the service, mostly Python (ORM) time, cannot use more
than one core. ``processes``: the workers are processes forked from this one
(start method ``fork``, after Django is set up and the data seeded), like
gunicorn workers; each closes the inherited Django connections and drops the
inherited Celery broker pools first, so it opens its own database and Redis
connections; the workers take the next item from the shared list through a
shared counter, start together on a barrier, and send their latencies
(``perf_counter`` deltas) and errors back through a queue. In both modes the
wall time runs from the start signal to the end of the last worker.

What the service figures include: the whole call (permission and scope checks,
eligibility re-check, both row locks, slot and status writes with their audit
rows, commit) and its on-commit enqueue of the allocation e-mail. With a
reachable Redis (``REDIS_URL``) the enqueue is a real publish to a private queue
that no worker reads (its length is checked against the allocations, then it is
deleted at the end); without Redis, ``delay`` is replaced by an in-memory
recorder. No task runs and no e-mail is sent either way. Not included: HTTP,
forms, templates, opening connections.

Targets (issue 3; reported, not asserted, per mode): at 16 workers the service
reaches at least a tenth of the bare loop's throughput, and its p99 is under
50 ms.
"""

import argparse
import cProfile
import datetime
import multiprocessing
import os
import pstats
import queue
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/perform"
SITES = (("TOR", "Toronto (bench)"), ("HAM", "Hamburg (bench)"))
FRACTURE_STATUSES = ("impending", "complete")
WARM_UP = 21  # single-thread calls before the runs; all but the first measured
SEED = 20250201
QUEUE_PREFIX = "perform-bench-"
MODES = ("threads", "processes")
WORKER_TIMEOUT = 120  # seconds a worker may take to connect, or to send results


# ---------------------------------------------------------------------------
# Scratch database (before Django is set up)
# ---------------------------------------------------------------------------
def server_params(url: str) -> dict:
    """psycopg2 connection parameters of ``url``'s server (no database name)."""
    import environ

    config = environ.Env.db_url_config(url)
    params = {
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
    }
    return {key: value for key, value in params.items() if value}


def scratch_url(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    base, _, rest = url.rpartition("/")
    query = ("?" + rest.split("?", 1)[1]) if "?" in rest else ""
    return f"{base}/{name}{query}"


def admin_execute(params: dict, sql: str) -> None:
    """Run ``sql`` outside a transaction in the server's ``postgres`` database."""
    connection = psycopg2.connect(dbname="postgres", **params)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# Seeding (through the services, as real use would)
# ---------------------------------------------------------------------------
def seed(*, batches: int, per_batch: int):
    """Return (randomizer, warm-up participants, ``batches`` service batches,
    bare-loop participants); every batch has the four strata interleaved.

    One consented participant per stratum is made through the services; the
    others are bulk copies of it with the same rows (participant, eligibility
    answers, consent, status history), which is what the services would write
    and many times faster.
    """
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from perform import roles
    from perform import services as core
    from perform.models import EligibilityCriterion, Site, SiteMembership, User
    from randomization import services

    groups = {g.name: g for g in Group.objects.all()}

    def user(username, role, sites=()):
        account = User.objects.create_user(
            username=username, email=f"{username}@example.org"
        )
        account.groups.set([groups[role]])
        for site in sites:
            SiteMembership.objects.create(user=account, site=site)
        return account

    today = timezone.localdate()
    sites = [
        Site.objects.create(
            code=code,
            name=name,
            country="Bench",
            time_zone="UTC",
            activation_date=today - datetime.timedelta(days=30),
            target_enrolment=100,
        )
        for code, name in SITES
    ]
    coordinators = {
        site.pk: user(f"coord_{site.code.lower()}", roles.SITE_COORDINATOR, [site])
        for site in sites
    }
    randomizer = user("randomizer", roles.RANDOMIZER)
    statistician = user("statistician", roles.STATISTICIAN)
    strata = [(site, status) for site in sites for status in FRACTURE_STATUSES]
    # Service calls, plus the bare loop's (released after each run), plus margin.
    per_stratum = (batches * per_batch + WARM_UP) // len(strata) + per_batch // 4
    draft = services.list_generate(
        actor=statistician,
        name="Bench list",
        seed=SEED,
        sites=sites,
        slots_per_stratum=per_stratum + 50,
    )
    services.list_activate(actor=statistician, allocation_list=draft)

    answers = {
        c.code: c.kind == EligibilityCriterion.Kind.INCLUSION
        for c in EligibilityCriterion.objects.filter(is_active=True)
    }
    templates = []
    for site, fracture_status in strata:
        coordinator = coordinators[site.pk]
        participant = core.participant_screen(
            actor=coordinator,
            site=site,
            screening_date=today,
            age_at_screening=64,
            sex="female",
            fracture_status=fracture_status,
            answers=answers,
        )
        core.participant_consent_record(
            actor=coordinator,
            participant=participant,
            decision_date=today,
            form_version="bench",
            obtained_by="Bench",
        )
        participant.refresh_from_db()  # the service saved a locked copy
        templates.append(participant)

    total = (batches + 1) * per_batch + WARM_UP
    people = templates + participants_copy(templates, total - len(templates))
    rng = random.Random(SEED)
    rng.shuffle(people)
    warm_up, people = people[:WARM_UP], people[WARM_UP:]
    batched = [people[i * per_batch : (i + 1) * per_batch] for i in range(batches)]
    bare = people[batches * per_batch :]
    return randomizer, warm_up, batched, bare


def participants_copy(templates: list, count: int) -> list:
    """``count`` copies of the templates in turn, with their related rows, each
    with the next study ID of its site."""
    import copy

    from django.conf import settings
    from django.db import transaction

    from perform.models import (
        ConsentRecord,
        EligibilityAnswer,
        Participant,
        ParticipantStatusChange,
        Site,
    )

    related = (EligibilityAnswer, ConsentRecord, ParticipantStatusChange)
    rows = {
        t.pk: {model: list(model.objects.filter(participant=t)) for model in related}
        for t in templates
    }
    with transaction.atomic():
        sites = {
            s.pk: s
            for s in Site.objects.select_for_update().filter(
                pk__in={t.site_id for t in templates}
            )
        }
        copies, origin = [], []
        for i in range(count):
            template = templates[i % len(templates)]
            site = sites[template.site_id]
            site.last_participant_number += 1
            clone = copy.copy(template)
            clone.pk = clone.id = None
            clone.sequence = site.last_participant_number
            clone.study_id = settings.TRIAL["STUDY_ID_FORMAT"].format(
                site=site.code, sequence=clone.sequence
            )
            copies.append(clone)
            origin.append(template.pk)
        Participant.objects.bulk_create(copies, batch_size=1000)
        for site in sites.values():
            site.save(update_fields=["last_participant_number"])
        for model in related:
            new_rows = []
            for clone, template_pk in zip(copies, origin, strict=True):
                for row in rows[template_pk][model]:
                    row = copy.copy(row)
                    row.pk = row.id = None
                    row.participant = clone
                    new_rows.append(row)
            model.objects.bulk_create(new_rows, batch_size=2000)
    return copies


# ---------------------------------------------------------------------------
# The allocation e-mail enqueue
# ---------------------------------------------------------------------------
ENQUEUE = {"ms": 0.0, "calls": 0}  # mean enqueue time of main-thread calls


def enqueue_setup() -> str:
    """Send ``allocation_notify.delay`` to a private Redis queue if Redis answers,
    else to an in-memory list; time it on the main thread. Returns a description."""
    from config.celery_app import app
    from randomization import tasks

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001 - any broker failure means "no Redis"
        recorded = []

        def send(kwargs):
            recorded.append(kwargs)

        mode = "recorded in memory (no Redis reachable)"
    else:
        queue_name = f"{QUEUE_PREFIX}{os.getpid()}"
        app.conf.task_default_queue = queue_name
        delay = tasks.allocation_notify.delay

        def send(kwargs):
            return delay(**kwargs)

        mode = f"published to Redis queue {queue_name!r}, which no worker reads"
    main_thread = threading.main_thread()

    def timed_delay(**kwargs):
        started = time.perf_counter()
        result = send(kwargs)
        if threading.current_thread() is main_thread:
            elapsed = (time.perf_counter() - started) * 1000
            ENQUEUE["calls"] += 1
            ENQUEUE["ms"] += (elapsed - ENQUEUE["ms"]) / ENQUEUE["calls"]
        return result

    tasks.allocation_notify.delay = timed_delay
    return mode


def broker_pools_reset(*, close: bool) -> None:
    """Drop the Celery app's broker connection pool and producer pool, so the
    next publish opens a fresh connection in this process.

    ``close``: close their connections first; only where they were opened (the
    parent before it forks). A forked worker passes False: it must not use the
    parent's sockets, nor shut them down under the parent (Celery's own
    after-fork hook already drops the pools; this makes sure of it).
    """
    from config.celery_app import app

    amqp = app.__dict__.get("amqp")  # a cached property; only if already made
    producers = getattr(amqp, "_producer_pool", None) if amqp else None
    if close:
        for pool in (producers, app._pool):
            if pool is not None:
                pool.force_close_all()
    app._pool = None
    if amqp is not None:
        amqp._producer_pool = None


def enqueued_count() -> int | None:
    """Messages waiting in the private Redis queue (None without one)."""
    from config.celery_app import app

    queue_name = app.conf.task_default_queue
    if not queue_name.startswith(QUEUE_PREFIX):
        return None
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(
            client.llen(key)
            for key in client.scan_iter(match=f"{queue_name}*")
            if client.type(key) in (b"list", "list")
        )


def enqueue_cleanup() -> None:
    """Delete the private queue and its kombu binding keys from Redis."""
    from config.celery_app import app

    queue_name = app.conf.task_default_queue
    if not queue_name.startswith(QUEUE_PREFIX):
        return
    try:
        with app.connection_for_write() as connection:
            client = connection.default_channel.client
            for key in list(client.scan_iter(match=f"*{queue_name}*")):
                client.delete(key)
    except Exception as error:  # noqa: BLE001 - cleanup must not hide results
        print(f"(could not delete Redis queue {queue_name}: {error})")


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------
def run_threads(items, workers: int, call, *, connect):
    """Run ``call(item)`` for every item from ``workers`` threads started together,
    each after ``connect()``; return (wall seconds, latencies in seconds, errors)."""
    from django.db import connections

    todo = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    barrier = threading.Barrier(workers + 1)
    latencies: list[float] = []
    errors: list = []
    lock = threading.Lock()

    def worker():
        mine = []
        try:
            connect()
            barrier.wait()
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    break
                started = time.perf_counter()
                try:
                    call(item)
                except Exception as error:  # noqa: BLE001 - reported at the end
                    with lock:
                        errors.append((str(item), repr(error)))
                    continue
                mine.append(time.perf_counter() - started)
        finally:
            with lock:
                latencies.extend(mine)
            connections.close_all()  # this thread's Django connection

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


def run_processes(items, workers: int, call, *, connect, disconnect=None):
    """Run ``call(item)`` for every item from ``workers`` forked processes started
    together, each after ``connect()`` (and ``disconnect()`` at its end); return
    (wall seconds, latencies in seconds, errors as (item, repr) pairs).

    Forked after Django is set up and the data seeded: the workers inherit
    ``items`` and ``call``; they share only a counter (the next item's index),
    the start barrier and the results queue. Each worker sends one result, its
    latencies and errors, when it has no item left; the wall time runs from the
    start signal to the last result.
    """
    from django.db import connections

    context = multiprocessing.get_context("fork")
    # Nothing open for the workers to inherit: no database connection, no broker
    # connection (a forked socket used by two processes corrupts both sessions).
    connections.close_all()
    broker_pools_reset(close=True)
    next_index = context.Value("l", 0)  # with its own lock
    barrier = context.Barrier(workers + 1)
    results = context.Queue()

    def worker(number: int) -> None:
        latencies, errors = [], []
        try:
            connections.close_all()  # own Django connection on first use
            broker_pools_reset(close=False)  # own Redis connection on first publish
            connect()
            barrier.wait(timeout=WORKER_TIMEOUT)
            while True:
                with next_index.get_lock():
                    index = next_index.value
                    next_index.value = index + 1
                if index >= len(items):
                    break
                item = items[index]
                started = time.perf_counter()
                try:
                    call(item)
                except Exception as error:  # noqa: BLE001 - reported at the end
                    errors.append((str(item), repr(error)))
                    continue
                latencies.append(time.perf_counter() - started)
        except BaseException as error:  # noqa: BLE001 - reported by the parent
            barrier.abort()
            errors.append((f"worker process {number}", repr(error)))
        finally:
            results.put((latencies, errors))
            if disconnect is not None:
                disconnect()
            connections.close_all()
            broker_pools_reset(close=True)  # this process's own connections

    processes = [
        context.Process(target=worker, args=(number,), daemon=True)
        for number in range(workers)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    errors: list = []
    try:
        barrier.wait(timeout=WORKER_TIMEOUT)
    except threading.BrokenBarrierError:
        errors.append(("start", "a worker process failed before the start"))
    started = finished = time.perf_counter()
    for _ in processes:
        try:
            mine, their_errors = results.get(timeout=WORKER_TIMEOUT)
        except queue.Empty:
            errors.append(("results", "a worker process sent no result"))
            break
        finished = time.perf_counter()
        latencies += mine
        errors += their_errors
    for process in processes:
        process.join(timeout=WORKER_TIMEOUT)
        if process.is_alive():
            process.kill()
            errors.append(("exit", f"worker process {process.pid} did not end"))
        elif process.exitcode:
            errors.append(("exit", f"worker process exit code {process.exitcode}"))
    results.close()
    return finished - started, latencies, errors


RUNNERS = {"threads": run_threads, "processes": run_processes}


class BareLoop:
    """Lock the stratum's next unused slot and assign it, in plain SQL on one
    psycopg2 connection per thread (no ORM, no audit context, same triggers)."""

    NEXT = (
        "SELECT id FROM randomization_slot WHERE stratum_id = %s "
        "AND participant_id IS NULL ORDER BY sequence LIMIT 1 FOR UPDATE"
    )
    ASSIGN = (
        "UPDATE randomization_slot SET participant_id = %s, allocated_at = now(), "
        "allocated_by_id = %s WHERE id = %s"
    )

    def __init__(self, *, params: dict, stratum_of: dict[int, int], user_id: int):
        self.params = params
        self.stratum_of = stratum_of
        self.user_id = user_id
        self.local = threading.local()
        self.opened: list = []
        self.lock = threading.Lock()

    def connect(self):
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = psycopg2.connect(**self.params)
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def assign(self, participant_id: int) -> None:
        connection = self.connect()
        with connection, connection.cursor() as cursor:  # one transaction
            cursor.execute(self.NEXT, [self.stratum_of[participant_id]])
            (slot_id,) = cursor.fetchone()
            cursor.execute(self.ASSIGN, [participant_id, self.user_id, slot_id])

    def close(self) -> None:
        for connection in self.opened:
            connection.close()
        self.opened.clear()
        self.local = threading.local()

    def release(self, participant_ids: list[int]) -> None:
        """Free the slots the loop took, so the next run starts from the same list."""
        connection = psycopg2.connect(**self.params)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE randomization_slot SET participant_id = NULL, "
                    "allocated_at = NULL, allocated_by_id = NULL "
                    "WHERE participant_id = ANY(%s)",
                    [participant_ids],
                )
        finally:
            connection.close()


def summary(
    mode: str, workers: int, path: str, wall: float, latencies: list[float]
) -> dict:
    ms = sorted(x * 1000 for x in latencies)
    if len(ms) >= 2:
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
    else:  # every call failed (reported as errors)
        cuts = [ms[0] if ms else float("nan")] * 99
    return {
        "mode": mode,
        "workers": workers,
        "path": path,
        "n": len(ms),
        "rate": len(ms) / wall,
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
    }


def warm_up_detail(randomizer, participants, *, profile: bool) -> dict:
    """Randomize ``participants`` one at a time; return SQL statements, total and
    SQL milliseconds per call. Prints a cProfile if ``profile``."""
    from django.db import connection

    from randomization.services import participant_randomize

    spent = {"sql": 0.0, "statements": 0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["sql"] += time.perf_counter() - started
            spent["statements"] += 1

    profiler = cProfile.Profile() if profile else None
    ENQUEUE.update(ms=0.0, calls=0)  # not the first publish, which connects
    with connection.execute_wrapper(timed):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for participant in participants:
            participant_randomize(actor=randomizer, participant=participant)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
    if profiler:
        print(f"\nProfile of {len(participants)} single-thread service calls:")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(30)
    n = len(participants)
    return {
        "statements": spent["statements"] / n,
        "ms": wall / n * 1000,
        "sql_ms": spent["sql"] / n * 1000,
    }


def check_allocations(holder_ids: list[int]) -> list[str]:
    """The used slots are held by exactly the participants ``holder_ids``, one
    each; each stratum's used slots run 1, 2, 3, ... with no gap."""
    from randomization.models import Slot

    problems = []
    used = Slot.objects.filter(participant__isnull=False)
    holders = list(used.values_list("participant_id", flat=True))
    if sorted(holders) != sorted(holder_ids):
        problems.append("participants and used slots do not match one to one")
    by_stratum = defaultdict(list)
    for stratum_id, sequence in used.values_list("stratum_id", "sequence"):
        by_stratum[stratum_id].append(sequence)
    for stratum_id, sequences in by_stratum.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            problems.append(f"stratum {stratum_id}: used sequences have gaps")
    return problems


def data_sizes() -> list[tuple[str, int]]:
    from pghistory.models import Events

    from perform.models import (
        ConsentRecord,
        EligibilityAnswer,
        Participant,
        ParticipantStatusChange,
    )
    from randomization.models import Slot, Stratum

    return [
        ("participants", Participant.objects.count()),
        ("eligibility answers", EligibilityAnswer.objects.count()),
        ("consents", ConsentRecord.objects.count()),
        ("status changes", ParticipantStatusChange.objects.count()),
        ("strata", Stratum.objects.count()),
        ("slots", Slot.objects.count()),
        ("used slots", Slot.objects.filter(participant__isnull=False).count()),
        ("audit events", Events.objects.count()),
    ]


def report(rows: list[dict], *, sizes, mode: str, detail: dict, enqueued) -> None:
    print()
    print("participant_randomize vs bare SQL 'lock the next slot and assign it'")
    print("  service: the whole call, audit rows and commit included;")
    print(f"           allocation e-mail enqueue {mode}")
    if enqueued is not None:
        print(
            f"           ({enqueued[0]} messages in the queue for {enqueued[1]} "
            "allocations)"
        )
    print(
        f"  service, one thread: {detail['ms']:.1f} ms per call, of which "
        f"{detail['sql_ms']:.1f} ms in {detail['statements']:.0f} SQL statements "
        f"and {ENQUEUE['ms']:.1f} ms in the enqueue"
    )
    print("  bare: 2 SQL statements per transaction")
    print(
        "  threads: one Python process (one GIL); processes: forked workers, "
        f"each its own connections; {os.cpu_count()} CPUs"
    )
    print()
    header = (
        f"{'mode':<9} {'workers':>7}  {'path':<9} {'n':>5} {'rate/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['mode']:<9} {row['workers']:>7}  {row['path']:<9} {row['n']:>5} "
            f"{row['rate']:>8.0f} "
            f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f}"
        )
    print()
    by_level = defaultdict(dict)
    for row in rows:
        by_level[row["mode"], row["workers"]][row["path"]] = row
    for (run_mode, workers), pair in by_level.items():
        service, bare = pair["service"], pair["bare SQL"]
        ratio = service["rate"] / bare["rate"] if bare["rate"] else float("nan")
        inverse = 1 / ratio if ratio else float("inf")
        print(
            f"  {run_mode:<9} {workers:>2} workers: service/bare throughput "
            f"{ratio:.3f} (1/{inverse:.1f}), service p99 {service['p99']:.1f} ms"
        )
    for run_mode in dict.fromkeys(row["mode"] for row in rows):
        top = max(workers for m, workers in by_level if m == run_mode)
        pair = by_level[run_mode, top]
        bare_rate = pair["bare SQL"]["rate"]
        ratio = pair["service"]["rate"] / bare_rate if bare_rate else float("nan")
        met = ratio >= 0.1 and pair["service"]["p99"] < 50
        print(
            f"  target, {run_mode} at {top} workers (>= 1/10 of bare throughput, "
            f"p99 < 50 ms): {'met' if met else 'NOT met'}"
        )
    print()
    print("Data: " + ", ".join(f"{name} {count}" for name, count in sizes))
    print(f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def benchmark(
    *, modes: list[str], levels: list[int], n: int, params: dict, profile: bool
) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from perform.models import Participant
    from randomization.models import Stratum
    from randomization.services import participant_randomize

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    runs = [(run_mode, workers) for run_mode in modes for workers in levels]
    randomizer, warm_up, service_batches, bare = seed(batches=len(runs), per_batch=n)
    print(
        f"Migrated in {migrated - started:.1f} s; seeded "
        f"{(len(runs) + 1) * n + WARM_UP} consented participants in "
        f"{time.perf_counter() - migrated:.1f} s."
    )
    mode = enqueue_setup()
    participant_randomize(actor=randomizer, participant=warm_up[0])
    detail = warm_up_detail(randomizer, warm_up[1:], profile=profile)

    stratum_ids = {s.key: s.pk for s in Stratum.objects.all()}
    bare_rows = Participant.objects.filter(pk__in=[p.pk for p in bare])
    stratum_of = {
        p.pk: stratum_ids[f"{p.site.code}|{p.fracture_status}"]
        for p in bare_rows.select_related("site")
    }
    loop = BareLoop(params=params, stratum_of=stratum_of, user_id=randomizer.pk)
    bare_ids = [p.pk for p in bare]

    def randomize(participant):
        participant_randomize(actor=randomizer, participant=participant)

    service_ids = [p.pk for p in warm_up]
    rows, failures, problems = [], [], []

    def check(label: str, holder_ids: list[int]) -> None:
        problems.extend(
            f"{label}: {problem}" for problem in check_allocations(holder_ids)
        )

    for (run_mode, workers), batch in zip(runs, service_batches, strict=True):
        run = RUNNERS[run_mode]
        label = f"{run_mode}, {workers} workers"
        wall, latencies, errors = run(
            batch, workers, randomize, connect=connection.ensure_connection
        )
        failures += errors
        rows.append(summary(run_mode, workers, "service", wall, latencies))
        service_ids += [p.pk for p in batch]
        check(f"{label}, service", service_ids)
        extra = {"disconnect": loop.close} if run_mode == "processes" else {}
        wall, latencies, errors = run(
            bare_ids, workers, loop.assign, connect=loop.connect, **extra
        )
        loop.close()
        failures += errors
        rows.append(summary(run_mode, workers, "bare SQL", wall, latencies))
        check(f"{label}, bare SQL", service_ids + bare_ids)
        loop.release(bare_ids)
        check(f"{label}, after releasing the bare loop's slots", service_ids)
        print(
            f"  {run_mode:<9} {workers:>2} workers: service {rows[-2]['rate']:.0f}/s, "
            f"bare {rows[-1]['rate']:.0f}/s"
        )

    sizes = data_sizes()
    try:
        count = enqueued_count()
    except Exception as error:  # noqa: BLE001 - cleanup must not hide results
        print(f"(could not count the Redis queue: {error})")
        count = None
    enqueued = None if count is None else (count, len(service_ids))
    enqueue_cleanup()
    report(rows, sizes=sizes, mode=mode, detail=detail, enqueued=enqueued)
    for item, error in failures[:5]:
        print(f"ERROR for {item}: {error}")
    if len(failures) > 5:
        print(f"... and {len(failures) - 5} more errors")
    for problem in problems:
        print(f"ALLOCATION CHECK FAILED: {problem}")
    if enqueued and count != len(service_ids):
        problems.append("enqueue")
        print(
            f"ENQUEUE CHECK FAILED: {count} allocation e-mails in the queue for "
            f"{len(service_ids)} allocations"
        )
    print(f"Total {time.perf_counter() - started:.0f} s.")
    return 1 if failures or problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="calls per run (400)")
    parser.add_argument(
        "--workers", default="1,4,16", help="comma-separated worker counts (1,4,16)"
    )
    parser.add_argument(
        "--mode",
        choices=[*MODES, "both"],
        default="both",
        help="workers as threads of one process, forked processes, or both (both)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the warm-up"
    )
    args = parser.parse_args()
    levels = [int(w) for w in args.workers.split(",")]
    modes = list(MODES) if args.mode == "both" else [args.mode]

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    params = server_params(url)
    scratch = f"perform_bench_{os.getpid()}"
    print(f"Scratch database {scratch} on {params.get('host', 'the local socket')}.")
    admin_execute(params, f'CREATE DATABASE "{scratch}"')
    # Before django.setup(): the settings read DATABASE_URL when imported.
    os.environ["DATABASE_URL"] = scratch_url(url, scratch)
    try:
        return benchmark(
            modes=modes,
            levels=levels,
            n=args.n,
            params={**params, "dbname": scratch},
            profile=args.profile,
        )
    finally:
        from django.db import connections

        connections.close_all()
        admin_execute(params, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        print(f"Dropped {scratch}.")


if __name__ == "__main__":
    sys.exit(main())
