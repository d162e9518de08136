"""Throughput and latency of ``participant_randomize`` next to a bare SQL loop.

Run by ``make bench`` (not by ``make test``); alone::

    eval "$(.venv/bin/python scripts/services.py env --profile bench)"
    PYTHONPATH=. .venv/bin/python benchmarks/randomize.py [--n 400] [--profile] \\
        [--mode threads|processes|both] [--workers 1,4,16]

On PostgreSQL, it:

1. creates its own scratch database ``perform_bench_<pid>`` on the server of
   ``DATABASE_URL`` (the database named there is never touched), migrates it,
   and drops it at the end, whatever happens (``benchmarks/common.py``);
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
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks.randomizing.bare_loop import BareLoop  # noqa: E402
from benchmarks.randomizing.enqueue import (  # noqa: E402
    ENQUEUE,
    enqueue_cleanup,
    enqueue_setup,
    enqueued_count,
)
from benchmarks.randomizing.results import report, summary  # noqa: E402
from benchmarks.randomizing.seed import WARM_UP, data_sizes, seed  # noqa: E402
from benchmarks.randomizing.workers import MODES, RUNNERS  # noqa: E402


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


def benchmark(
    *, modes: list[str], levels: list[int], n: int, params: dict, profile: bool
) -> int:
    common.django_setup()
    from django.db import connection

    from perform.models import Participant
    from randomization.models import Stratum
    from randomization.services import participant_randomize

    started = time.perf_counter()
    common.migrate()
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
    return common.scratch_database_run(
        "perform_bench",
        lambda params: benchmark(
            modes=modes, levels=levels, n=args.n, params=params, profile=args.profile
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
