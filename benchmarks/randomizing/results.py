"""The figures of a run (rate and latency percentiles) and the printed table,
with the targets: at 16 workers the service reaches at least a tenth of the
bare loop's throughput, and its p99 is under 50 ms."""

import os
import statistics
from collections import defaultdict

from benchmarks.randomizing.enqueue import ENQUEUE


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
