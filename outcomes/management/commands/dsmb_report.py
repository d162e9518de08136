"""``manage.py dsmb_report``: build a DSMB report from the shell.

    python manage.py dsmb_report --kind closed --cutoff 2026-10-31 \
        --out closed.pdf --json closed.json

The same build as the worker's (``outcomes.services.report_build``); the JSON
holds every number the PDF prints. Nothing is stored in the database.
``--generated-at`` (the report's printed generation time) regenerates a past
report identically: it decides whose refusal of data use applies.
"""

import datetime
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from outcomes.services import report_build


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--cutoff {value!r} is not a date (YYYY-MM-DD).") from error


def _moment(value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--generated-at {value!r} is not a date-time.") from error
    if moment.tzinfo is None:
        raise CommandError("--generated-at needs a UTC offset (e.g. +00:00).")
    return moment


class Command(BaseCommand):
    help = "Build an open or closed DSMB report (PDF, and optionally JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=["open", "closed"])
        parser.add_argument("--cutoff", required=True, help="Data cut-off, YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="PDF file to write")
        parser.add_argument("--json", help="JSON file to write (every number)")
        parser.add_argument(
            "--generated-at",
            help="Generation time of a report to regenerate (ISO 8601, with offset)",
        )

    def handle(
        self,
        *args,
        kind,
        cutoff,
        out,
        json: str | None = None,
        generated_at: str | None = None,
        **options,
    ):
        cutoff_date = _date(cutoff)
        if cutoff_date > datetime.date.today():
            raise CommandError("--cutoff cannot be in the future.")
        built = report_build(
            kind=kind, cutoff=cutoff_date, generated_at=_moment(generated_at)
        )
        Path(out).write_bytes(built.pdf)
        if json:
            Path(json).write_text(_dumps(built.content))
        self.stdout.write(
            f"{kind} report, cut-off {cutoff_date}: {built.content['participants']} "
            f"participants, dataset SHA-256 {built.dataset_sha256}, {out}"
        )


def _dumps(content: dict) -> str:
    return json.dumps(content, indent=1)
