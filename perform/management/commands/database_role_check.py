"""``manage.py database_role_check``: is the database login fit to serve?

Run it with the environment the web server and workers use: it fails (exit
status 1) if their role is a superuser, owns tables, may create roles or may
update, delete or truncate an audit table (``perform.database``). Not a
system check: ``migrate`` runs those as the owner role, which rightly owns the
tables.
"""

from django.core.management.base import BaseCommand, CommandError

from perform.database import database_role_problems


class Command(BaseCommand):
    help = "Check that the database login cannot alter or erase the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        problems = database_role_problems(using=database)
        if problems:
            raise CommandError(
                "The database login is not fit to serve the application: it "
                + "; it ".join(problems)
                + ". Serve with the application role (README: Database roles)."
            )
        self.stdout.write("The database login is fit to serve: no problem found.")
