"""``manage.py analysis_dataset --cutoff YYYY-MM-DD --out DIR``: write the
analysis dataset and every table a report reads, as CSV, with the data
dictionary, and print the SHA-256 digest a report of that cut-off shows."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from outcomes.derivation import DICTIONARY_COLUMNS, dictionary_rows
from outcomes.inputs import inputs_csv, inputs_digest, report_inputs, table_csv


class Command(BaseCommand):
    help = "Export the analysis dataset (CSV + data dictionary) and its digest."

    def add_arguments(self, parser):
        parser.add_argument("--cutoff", required=True, help="Data cut-off, YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="Directory to write to")

    def handle(self, *args, cutoff, out, **options):
        try:
            cutoff_date = datetime.date.fromisoformat(cutoff)
        except ValueError as error:
            raise CommandError(f"--cutoff {cutoff!r} is not a date.") from error
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        inputs = report_inputs(cutoff=cutoff_date)
        for name, names, rows in inputs.tables():
            (folder / f"{name}.csv").write_text(table_csv(names, rows))
        (folder / "data_dictionary.csv").write_text(
            table_csv(DICTIONARY_COLUMNS, dictionary_rows())
        )
        (folder / "all_tables.txt").write_text(inputs_csv(inputs))
        self.stdout.write(
            f"{len(inputs.dataset.rows)} participants; SHA-256 of all_tables.txt "
            f"(the report's dataset digest): {inputs_digest(inputs)}"
        )
