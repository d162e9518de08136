"""Write synthetic.csv: deterministic two-group competing-risks data sets.

Run once from anywhere: ``python tests/outcomes/r/make_synthetic.py``. The
CSV is committed; comparisons.R reads it (and records its MD5, which the tests
check). ``random.Random(seed).random()`` gives the same stream on every
Python version, so the file can be rebuilt identically.

Columns: case, time, status (0 = censored, 1.. = cause), group (0/1).

* ``ties``: 300 participants, whole months, cause 2 competing: heavy ties,
  within and across groups and statuses.
* ``one_group``: cause 1 only in group 1, cause 2 in both, cause 3 never.
* ``separated``: group 0 all leave before group 1's first time: events in
  both groups, yet the Cox estimate is infinite (monotone likelihood).
* ``no_overlap``: group 0 all censored before the first event: no event time
  has both groups at risk (R: log-rank on 0 df).
* ``early``: an early look, 40 participants and a handful of events.
* ``large``: 3,000 participants, times to 0.01 (some ties).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).with_name("synthetic.csv")
Row = tuple[float, int, int]


def _exponential(rng: random.Random, rate: float) -> float:
    u = rng.random()  # always drawn, so streams do not depend on the rates
    return -math.log(1.0 - u) / rate if rate > 0 else math.inf


def _first_event(rng: random.Random, rates: list[float], censor: float):
    times = [_exponential(rng, rate) for rate in rates]
    cause = min(range(len(times)), key=times.__getitem__)
    return (times[cause], cause + 1) if times[cause] <= censor else (censor, 0)


def _ties(rng: random.Random) -> Iterator[Row]:
    for i in range(300):
        group = i % 2
        censor = rng.uniform(1, 30)
        time, status = _first_event(rng, [0.03 * (1 + group), 0.02], censor)
        yield math.ceil(time), status, group


def _one_group(rng: random.Random) -> Iterator[Row]:
    for i in range(120):
        group = i % 2
        censor = rng.uniform(30, 400)
        time, status = _first_event(rng, [0.004 * group, 0.002], censor)
        yield math.ceil(time), status, group


def _separated(rng: random.Random) -> Iterator[Row]:
    for i in range(20):
        group = i // 10
        status = [1, 0, 2, 1, 0][i % 5]
        yield i + 1, status, group


def _no_overlap(rng: random.Random) -> Iterator[Row]:
    yield from ((time, 0, 0) for time in range(1, 6))
    yield from ((time + 6, status, 1) for time, status in enumerate([1, 2, 1, 0, 1, 2]))


def _early(rng: random.Random) -> Iterator[Row]:
    for i in range(40):
        group = i % 2
        censor = rng.uniform(0, 90)
        time, status = _first_event(rng, [0.002 * (1 + group), 0.001], censor)
        yield math.ceil(time), status, group


def _large(rng: random.Random) -> Iterator[Row]:
    for i in range(3000):
        group = i % 2
        censor = rng.uniform(0, 24)
        time, status = _first_event(rng, [0.05 + 0.02 * group, 0.03], censor)
        yield round(time, 2), status, group


CASES = {
    "ties": _ties,
    "one_group": _one_group,
    "separated": _separated,
    "no_overlap": _no_overlap,
    "early": _early,
    "large": _large,
}


def main() -> None:
    with OUT.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["case", "time", "status", "group"])
        for seed, (case, rows) in enumerate(CASES.items(), start=1):
            for time, status, group in rows(random.Random(seed)):
                writer.writerow([case, f"{time:g}", status, group])


if __name__ == "__main__":
    main()
