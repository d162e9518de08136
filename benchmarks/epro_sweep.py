"""Wall time and SQL query count of the survey invitation and reminder sweep
(``crf.epro.invitations.epro_sweep``) for 5,000 participants with contact
preferences at 50 sites.

Run by ``make bench`` (not by ``make test``); alone::

    eval "$(.venv/bin/python scripts/services.py env --profile bench)"
    PYTHONPATH=. .venv/bin/python benchmarks/epro_sweep.py [--participants 5000]

It creates its own scratch database ``perform_bench_epro_<pid>`` on the server
of ``DATABASE_URL``, migrates it and drops it at the end, whatever happens
(``benchmarks/common.py``). It seeds 50 sites in a dozen time zones and
``--participants`` operated participants (bulk inserts), surgery dates spread
over the last 15 months, each with a contact preference: 80% e-mail, 15% text
message, 5% clinic only; 3% have opted out. Earlier visits are done with
their questionnaires submitted; a fifth of the visits open today are already
answered on the clinic tablet. ANALYZE runs after the load.

Then it sweeps three times and prints, for each, the wall time (the outbox
rows' send tasks published to a scratch queue included), the SQL query count
and the invitations and reminders written:

1. the first sweep ever: every open window not yet answered is invited (the
   worst case: a platform switched on mid-trial; a day's normal sweep
   invites a few dozen);
2. three days later: the first reminders of all those, and the invitations of
   the windows opened since;
3. the same day again: nothing new.

Target (issue 16; reported, not asserted): each sweep under 10 s, with a
query count that does not depend on the number of participants.
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks.reminders import ZONES, site_codes  # noqa: E402

SITES = 50
TARGET_SECONDS = 10
SEED = 20261204
CHANNELS = (("email", 80), ("sms", 15), ("clinic", 5))
OPTED_OUT_SHARE = 0.03
TABLET_SHARE = 0.2  # of the windows open today, answered already


def seed(participants: int, today: datetime.date) -> None:
    """Sites, participants, operative and follow-up forms, contact
    preferences and the responses of earlier visits."""
    from django.utils import timezone

    from crf.models import (
        ContactPreference,
        FollowUp,
        FormStatus,
        Operative,
        PromResponse,
    )
    from crf.schedule.visits import visit_definitions
    from perform import roles
    from perform.models import Participant, ParticipantStatus, Site

    rng = random.Random(SEED)
    sites = Site.objects.bulk_create(
        Site(
            code=code,
            name=f"Site {code} (bench)",
            country="Bench",
            time_zone=ZONES[i % len(ZONES)],
            activation_date=today - datetime.timedelta(days=500),
            target_enrolment=400,
        )
        for i, code in enumerate(site_codes(SITES))
    )
    actor = common.user_with_role(
        "coordinator", roles.SITE_COORDINATOR, sites, email="c@example.org"
    )
    now = timezone.now()
    people = Participant.objects.bulk_create(
        (
            Participant(
                study_id=f"PRF-{sites[i % SITES].code}-{i // SITES + 1:04d}",
                site=sites[i % SITES],
                sequence=i // SITES + 1,
                screening_date=today - datetime.timedelta(days=470),
                age_at_screening=rng.randint(40, 90),
                sex=rng.choice(["female", "male"]),
                fracture_status=rng.choice(["impending", "complete"]),
                status=ParticipantStatus.RANDOMIZED,
                status_changed_at=now,
                created_by=actor,
            )
            for i in range(participants)
        ),
        batch_size=5000,
    )
    form = {
        "status": FormStatus.COMPLETE,
        "created_by": actor,
        "updated_by": actor,
        "completed_at": now,
    }
    operatives, follow_ups, contacts, responses = [], [], [], []
    answered = {
        "status": PromResponse.Status.SUBMITTED,
        "language": "en",
        "started_at": now,
        "last_saved_at": now,
        "submitted_at": now,
        "answers": {"eq5d_vas": 70},
    }
    for p in people:
        surgery = today - datetime.timedelta(days=rng.randint(0, 450))
        operatives.append(Operative(participant=p, **form, surgery_date=surgery))
        channel = rng.choices(*zip(*CHANNELS, strict=True))[0]
        contacts.append(
            ContactPreference(
                participant=p,
                electronic_contact=channel != "clinic",
                channel=channel,
                email=f"p{p.pk}@example.org" if channel == "email" else "",
                phone=f"+1416555{p.pk % 10000:04d}" if channel == "sms" else "",
                language="en",
                recorded_by=actor,
                opted_out_at=now if rng.random() < OPTED_OUT_SHARE else None,
            )
        )
        for v in visit_definitions():
            opens = surgery + datetime.timedelta(days=v.window_start_day)
            closes = surgery + datetime.timedelta(days=v.window_end_day)
            if opens > today:
                break
            if closes < today:  # an earlier visit: done and answered
                follow_ups.append(
                    FollowUp(
                        participant=p,
                        **form,
                        visit=v.code,
                        visit_date=surgery + datetime.timedelta(days=v.target_day),
                        vital_status="alive",
                    )
                )
                responses.append(
                    PromResponse(participant=p, visit=v.code, mode="link", **answered)
                )
            elif rng.random() < TABLET_SHARE:  # open, answered in clinic
                responses.append(
                    PromResponse(participant=p, visit=v.code, mode="tablet", **answered)
                )
    Operative.objects.bulk_create(operatives, batch_size=5000)
    FollowUp.objects.bulk_create(follow_ups, batch_size=5000)
    ContactPreference.objects.bulk_create(contacts, batch_size=5000)
    PromResponse.objects.bulk_create(responses, batch_size=5000)


def sweep(now) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crf.epro.invitations import epro_sweep

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = epro_sweep(now=now)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "queries": len(ctx.captured_queries),
        "invitations": result.invitations,
        "reminders": result.reminders,
    }


def benchmark(*, participants: int) -> int:
    common.django_setup()
    from config.celery_app import app
    from crf.models import ContactPreference, PromResponse

    def queue_purge():
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(os.environ["CELERY_TASK_DEFAULT_QUEUE"])

    started = time.perf_counter()
    common.migrate()
    migrated = time.perf_counter()
    # 12:00 UTC: the same calendar day at every site of the dozen zones but
    # Auckland's (already tomorrow there).
    now = datetime.datetime.now(datetime.UTC).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    seed(participants, now.date())
    common.analyze()
    seeded = time.perf_counter()
    print(
        f"Migrated in {migrated - started:.1f} s; seeded {SITES} sites, "
        f"{participants} operated participants ({ContactPreference.objects.count()} "
        f"contact preferences, {PromResponse.objects.count()} responses) in "
        f"{seeded - migrated:.1f} s."
    )
    rows = []
    try:
        later = now + datetime.timedelta(days=3)
        rows.append(("first sweep (all open windows)", sweep(now)))
        rows.append(("3 days later (reminders 1)", sweep(later)))
        rows.append(("same day again", sweep(later + datetime.timedelta(hours=1))))
    finally:
        queue_purge()
    print()
    header = (
        f"{'sweep':<32} {'seconds':>8} {'queries':>8} {'invited':>8} {'reminded':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, r in rows:
        print(
            f"{label:<32} {r['seconds']:>8.2f} {r['queries']:>8} "
            f"{r['invitations']:>8} {r['reminders']:>9}"
        )
    print()
    worst = max(r["seconds"] for _label, r in rows)
    met = "met" if worst < TARGET_SECONDS else "NOT met"
    print(f"  target < {TARGET_SECONDS} s: {met}")
    print(f"Total {time.perf_counter() - started:.0f} s.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=5_000)
    args = parser.parse_args()
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"perform-bench-{os.getpid()}"
    return common.scratch_database_run(
        "perform_bench_epro",
        lambda params: benchmark(participants=args.participants),
    )


if __name__ == "__main__":
    sys.exit(main())
