"""``manage.py seed_demo``: fill an empty database with a realistic demo trial."""

import datetime
import functools
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from demo import trial as demo
from perform.models import ParticipantStatus


class Command(BaseCommand):
    help = (
        "Create demo sites, users, participants and an active allocation list, "
        "randomize the demo's randomized participants and enter their case report "
        "forms and data queries (all through the trial services, each at its "
        "simulated moment over the trial's first months, so status history, "
        "allocations, forms and audit trail are those of a trial in progress; "
        "run it as the database owner role). Does "
        "nothing if any site, participant or allocation list exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sites",
            type=int,
            default=demo.DEFAULT_SITES,
            help=f"number of sites, 2-{len(demo.SITE_CATALOGUE)} "
            f"(default {demo.DEFAULT_SITES})",
        )
        parser.add_argument(
            "--participants",
            type=int,
            default=demo.DEFAULT_PARTICIPANTS,
            help=f"number of screened patients (default {demo.DEFAULT_PARTICIPANTS})",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"same seed, same trial (default {demo.DEFAULT_SEED})",
        )
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="the demo's present, YYYY-MM-DD (default: today); the same "
            "--seed and --today give the same trial",
        )
        parser.add_argument(
            "--password",
            default=demo.DEFAULT_PASSWORD,
            help="password of every demo user (default: printed at the end)",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show a progress bar"
        )

    def handle(self, *args, **options):
        if demo.demo_data_present():
            self.stdout.write(
                "Demo data (or other trial data) already present; nothing changed. "
                "seed_demo only fills an empty database."
            )
            return
        progress = functools.partial(
            tqdm,
            unit="patient",
            file=sys.stderr,
            # None: tqdm shows the bar only on a terminal.
            disable=True if options["no_progress"] else None,
        )
        started = time.monotonic()
        try:
            result = demo.demo_seed(
                sites=options["sites"],
                participants=options["participants"],
                seed=options["seed"],
                password=options["password"],
                today=options["today"],
                progress=progress,
            )
        except demo.DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(result, options, elapsed=time.monotonic() - started)

    def _summary(self, result: demo.SeedResult, options, *, elapsed: float):
        out = self.stdout
        total = sum(result.status_counts.values())
        out.write(
            self.style.SUCCESS(
                f"Demo trial created in {elapsed:.1f} s: {len(result.sites)} sites, "
                f"{total} participants (seed {options['seed']}, "
                f"as of {result.today})."
            )
        )
        out.write("\nSites:")
        for site in result.sites:
            paused = "" if site.is_active else "  (recruitment paused)"
            out.write(
                f"  {site.code}  {site.name:<40} {site.time_zone:<20} "
                f"active since {site.activation_date}  target {site.target_enrolment}"
                f"{paused}"
            )
        out.write("\nParticipants by status:")
        for status, n in result.status_counts.items():
            out.write(f"  {ParticipantStatus(status).label:<20} {n:>4}")
        waiting = result.status_counts.get(ParticipantStatus.CONSENTED, 0)
        awaiting_consent = result.status_counts.get(ParticipantStatus.ELIGIBLE, 0)
        out.write(
            f"\nRandomization: “{result.allocation_list.name}” is active; "
            f"{result.randomized} participants randomized through the service, "
            f"{waiting} consented and waiting for randomization, "
            f"{awaiting_consent} eligible and awaiting consent."
        )
        out.write("\nCase report forms (draft / complete / signed):")
        for label, by_status in result.forms.items():
            counts = " / ".join(f"{n:>4}" for n in by_status.values())
            out.write(f"  {label:<32} {counts}")
        queries = ", ".join(f"{n} {status}" for status, n in result.queries.items())
        out.write(f"Data queries: {queries or 'none'}.")
        out.write("\nUsers:")
        for user in result.users:
            where = f" @ {', '.join(user.site_codes)}" if user.site_codes else ""
            roles = ", ".join(user.roles) or (
                "System owner (superuser)" if user.is_superuser else ""
            )
            out.write(f"  {user.username:<14} {roles}{where}")
        out.write(
            self.style.WARNING(
                f"\nEvery demo user's password is: {options['password']}\n"
                "This is a demo password: never use these accounts with real data."
            )
        )
        out.write(f"\nOpen {settings.SITE_URL} and log in.")
