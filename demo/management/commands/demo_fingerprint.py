from django.core.management.base import BaseCommand

from demo.fingerprint import demo_fingerprint


class Command(BaseCommand):
    help = (
        "Print a digest of the database's content without what changes on every "
        "seeding (demo.fingerprint): run after seed_demo before and after a change."
    )

    def handle(self, *args, **options):
        total, tables = demo_fingerprint()
        for table, (count, digest) in tables.items():
            if count:
                self.stdout.write(f"{table:45s} {count:7d} {digest[:12]}")
        self.stdout.write(f"total {total}")
