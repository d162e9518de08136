"""Wall time and peak memory of building the closed DSMB report.

Run by ``make bench`` (not by ``make test``); alone::

    eval "$(.venv/bin/python scripts/services.py env --profile bench)"
    PYTHONPATH=. .venv/bin/python benchmarks/report.py [--participants 20000]

Like the other benchmarks it works in a scratch database
``perform_bench_report_<pid>``, dropped at the end whatever happens
(``benchmarks/common.py``). It seeds ``--participants`` randomized participants
over 20 sites with full follow-up (bulk inserts, not the services):
randomization spread over 4 years, an operative and a baseline form each, every
follow-up visit up to 12 months (about 4% missed) unless the participant died
first (about 45% die, over a few months to two years), reoperations (about
12%), local progression (about 6%), radiographic implant failure (about 4%),
two adverse events each on average (a quarter of them serious, across every
body system), protocol deviations and open queries. Then it builds the closed
report exactly as the worker does (``outcomes.services.report_build``: read,
derive, digest, estimate, plot, PDF) and prints the wall time of each stage,
the peak memory of the process (resident set, ``ru_maxrss``) and the PDF's size
and pages.

Target (issue 6, must-show 6; reported, not asserted): under 20 s and under
1 GB for 20,000 participants.
"""

import argparse
import datetime
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

SITES = 20
SEED = 20260601
TARGET_SECONDS = 20
TARGET_MB = 1024
CUTOFF = datetime.date(2029, 6, 30)


def _sites(today):
    from perform.models import Site

    zones = ["America/Toronto", "Europe/Berlin", "Europe/London", "America/Chicago"]
    return [
        Site.objects.create(
            code="S" + chr(65 + n // 26) + chr(65 + n % 26),
            name=f"Site {n:02d} (bench)",
            country="Bench",
            time_zone=zones[n % len(zones)],
            activation_date=datetime.date(2025, 2, 1),
            target_enrolment=20,
        )
        for n in range(SITES)
    ]


def _allocation(sites, actor):
    from randomization.models import AllocationList, Stratum

    allocation_list = AllocationList.objects.create(
        name="bench",
        status="active",
        source="generated",
        arms=[["IF", "Internal fixation"], ["RER", "Resection"]],
        ratio=[1, 1],
        block_sizes=[2, 4, 6],
        factors=["site", "fracture_status"],
        slots_per_stratum=5000,
        seed=1,
        digest="0" * 64,
        created_by=actor,
    )
    return {
        (site.pk, status): Stratum.objects.create(
            allocation_list=allocation_list,
            key=f"{site.code}|{status}",
            levels={"site": site.code, "fracture_status": status},
            site=site,
        )
        for site in sites
        for status in ("impending", "complete")
    }


class _Forms:
    """Collects rows per model and bulk-inserts them."""

    def __init__(self, actor, now):
        self.actor, self.now, self.rows = actor, now, {}

    def add(self, model, participant, **fields):
        self.rows.setdefault(model, []).append(
            model(
                participant=participant,
                status="complete",
                created_by=self.actor,
                updated_by=self.actor,
                completed_at=self.now,
                **fields,
            )
        )

    def save(self):
        for model, rows in self.rows.items():
            model.objects.bulk_create(rows, batch_size=2000)


def seed(participants: int) -> dict:  # noqa: C901 - one linear story
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from crf.models import (
        AdverseEvent,
        Baseline,
        DataQuery,
        Death,
        FollowUp,
        LocalRecurrence,
        Operative,
        ProtocolDeviation,
        Reoperation,
    )
    from crf.models.events import BodySystem
    from crf.schedule.visits import visit_definitions
    from perform import roles
    from perform.models import Participant
    from randomization.models import Slot

    rng = random.Random(SEED)
    today = timezone.localdate()
    now = timezone.now()
    actor = common.user_with_role("statistician", roles.STATISTICIAN)
    sites = _sites(today)
    strata = _allocation(sites, actor)
    start = datetime.date(2025, 2, 1)
    span = (datetime.date(2029, 1, 31) - start).days
    people = []
    for n in range(participants):
        site = sites[n % SITES]
        people.append(
            Participant(
                study_id=f"PRF-{site.code}-{n // SITES + 1:04d}",
                site=site,
                sequence=n // SITES + 1,
                screening_date=start + datetime.timedelta(days=rng.randint(0, span)),
                age_at_screening=rng.randint(35, 92),
                sex=rng.choice(["female", "male"]),
                fracture_status=rng.choice(["impending", "complete"]),
                status="randomized",
                status_changed_at=now,
                created_by=actor,
            )
        )
    people = Participant.objects.bulk_create(people, batch_size=2000)
    slots, sequence = [], {}
    forms = _Forms(actor, now)
    visits = visit_definitions()
    systems = [value for value, _label in BodySystem.choices]
    for p in people:
        stratum = strata[(p.site_id, p.fracture_status)]
        sequence[stratum.pk] = sequence.get(stratum.pk, 0) + 1
        arm = rng.choice(["IF", "RER"])
        randomized = p.screening_date + datetime.timedelta(days=rng.randint(1, 7))
        slots.append(
            Slot(
                stratum=stratum,
                sequence=sequence[stratum.pk],
                arm=arm,
                block_number=1 + sequence[stratum.pk] // 4,
                block_size=4,
                participant=p,
                allocated_at=datetime.datetime.combine(
                    randomized, datetime.time(12), tzinfo=datetime.UTC
                ),
                allocated_by=actor,
            )
        )
        surgery = randomized + datetime.timedelta(days=rng.randint(0, 6))
        forms.add(Operative, p, surgery_date=surgery, procedure=arm)
        forms.add(
            Baseline,
            p,
            assessment_date=surgery,
            primary_cancer=rng.choice(["breast", "lung", "prostate", "kidney"]),
            ecog=rng.randint(0, 3),
            asa=rng.randint(1, 3),
            eq5d_vas=rng.randint(10, 90),
            msts_percent=rng.randint(10, 80),
        )
        death = None
        if rng.random() < 0.45:
            death = surgery + datetime.timedelta(days=rng.randint(5, 720))
            forms.add(Death, p, death_date=death, primary_cause="progression")
        for visit in visits:
            day = surgery + datetime.timedelta(days=visit.target_day)
            if death and day >= death:
                break
            if rng.random() < 0.04:
                forms.add(FollowUp, p, visit=visit.code, missed_reason="Unwell")
                continue
            forms.add(
                FollowUp,
                p,
                visit=visit.code,
                visit_date=day,
                vital_status="alive",
                implant_failure=rng.random() < 0.007,
                local_progression=rng.random() < 0.01,
                eq5d_vas=rng.randint(10, 100),
                msts_percent=rng.randint(10, 100),
                bpi_interference=rng.randint(0, 10),
            )
        if rng.random() < 0.12:
            forms.add(
                Reoperation,
                p,
                reoperation_date=surgery + datetime.timedelta(days=rng.randint(3, 360)),
                reason="infection",
            )
        if rng.random() < 0.06:
            forms.add(
                LocalRecurrence,
                p,
                recurrence_date=surgery + datetime.timedelta(days=rng.randint(30, 360)),
                detected_by="mri",
            )
        for _ in range(rng.choice([0, 1, 2, 3, 4])):
            serious = rng.random() < 0.25
            forms.add(
                AdverseEvent,
                p,
                term="Event",
                body_system=rng.choice(systems),
                onset_date=surgery + datetime.timedelta(days=rng.randint(0, 300)),
                clavien_dindo=rng.choice(["I", "II", "IIIa", "IIIb", "IVa"]),
                serious=serious,
                sae_hospitalization=serious,
                outcome="recovered",
            )
        if rng.random() < 0.05:
            forms.add(
                ProtocolDeviation,
                p,
                deviation_date=surgery + datetime.timedelta(days=rng.randint(0, 200)),
                category=rng.choice(["visit", "eligibility", "other"]),
                description="Bench",
                severity=rng.choice(["minor", "major"]),
            )
    Slot.objects.bulk_create(slots, batch_size=2000)
    forms.save()
    operative = ContentType.objects.get_for_model(Operative)
    DataQuery.objects.bulk_create(
        [
            DataQuery(
                participant=p,
                form_type=operative,
                form_id=1,
                text="Check",
                raised_by=actor,
            )
            for p in people
            if rng.random() < 0.05
        ],
        batch_size=2000,
    )
    return {model.__name__: len(rows) for model, rows in forms.rows.items()}


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM: reset by exec, unlike
    ru_maxrss, which a child inherits from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_once() -> dict:
    """Build the closed report in this (fresh) process; its figures as a dict.

    Run in a child process so that the peak memory is the build's own, not
    the seeding's.
    """
    common.django_setup()
    from pypdf import PdfReader

    from outcomes.services import report_build

    memory_before = peak_mb()
    stages = []
    last = [time.perf_counter(), "start"]

    def progress(percent, stage):
        now = time.perf_counter()
        stages.append((last[1], now - last[0]))
        last[:] = [now, stage]

    profiler = None
    if os.environ.get("REPORT_BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    built = report_build(kind="closed", cutoff=CUTOFF, progress=progress)
    wall = time.perf_counter() - started
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            40
        )
    stages.append((last[1], time.perf_counter() - last[0]))
    return {
        "participants": built.content["participants"],
        "stages": stages[1:],
        "wall": wall,
        "peak_mb": peak_mb(),
        "before_mb": memory_before,
        "pdf_kb": len(built.pdf) / 1024,
        "pages": len(PdfReader(io.BytesIO(built.pdf)).pages),
        "digest": built.dataset_sha256,
    }


def benchmark(*, participants: int, profiled: bool = False) -> int:
    common.django_setup()
    from django.db import connections

    started = time.perf_counter()
    common.migrate()
    sizes = seed(participants)
    common.analyze()
    connections.close_all()
    print(
        f"Seeded {participants} participants in {time.perf_counter() - started:.0f} s."
    )
    print("Forms: " + ", ".join(f"{name} {n}" for name, n in sizes.items()))
    child = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--build-only"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env={**os.environ, "REPORT_BENCH_PROFILE": "1" if profiled else ""},
    )
    r = json.loads(child.stdout.strip().splitlines()[-1])
    print()
    print(
        f"Closed report, data cut-off {CUTOFF}, {r['participants']} participants "
        "analysed (built in a fresh process)"
    )
    for stage, seconds in r["stages"]:
        print(f"  {stage:<40} {seconds:6.2f} s")
    print(f"  {'wall time':<40} {r['wall']:6.2f} s")
    print(
        f"  peak resident memory: {r['peak_mb']:.0f} MB (after Django start-up: "
        f"{r['before_mb']:.0f} MB)"
    )
    print(
        f"  PDF {r['pdf_kb']:.0f} KB, {r['pages']} pages; dataset SHA-256 "
        f"{r['digest'][:16]}..."
    )
    print()
    met = "met" if r["wall"] < TARGET_SECONDS else "NOT met"
    print(f"  target wall time < {TARGET_SECONDS} s: {met}")
    met = "met" if r["peak_mb"] < TARGET_MB else "NOT met"
    print(f"  target peak memory < {TARGET_MB} MB: {met}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=20000)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the build"
    )
    args = parser.parse_args()
    if args.build_only:  # the child process of ``benchmark``
        print(json.dumps(build_once()))
        return 0
    # report_build writes no file; the setting only has to exist.
    os.environ.setdefault("REPORTS_ROOT", str(ROOT / "var" / "bench-reports"))
    return common.scratch_database_run(
        "perform_bench_report",
        lambda params: benchmark(participants=args.participants, profiled=args.profile),
    )


if __name__ == "__main__":
    sys.exit(main())
