"""``flush`` for the test database: empty every table as the owner role.

Transactional tests (live server, real workers, threads) end with Django's
flush, a TRUNCATE of every table. The application role the tests run as may
not truncate anything, and the audit tables refuse TRUNCATE to everyone
(``perform.database``). This command, installed by the test settings only,
runs the same statements as the owner, with the audit tables' TRUNCATE trigger
disabled inside the one transaction (only the owner may do that; nobody else
ever sees the trigger off), then sends post-migrate as the application role,
as Django's flush does.
"""

from django.core.management.color import no_style
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal, sql_flush
from django.db import connections
from psycopg2 import sql

from perform.database import TRUNCATE_TRIGGER, audit_tables
from tests.dbsupport.roles import role_connection


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        connection = connections[database]
        statements = sql_flush(
            no_style(),
            connection,
            reset_sequences=options.get("reset_sequences", True),
            allow_cascade=options.get("allow_cascade", False),
        )
        if not statements:
            return
        audit = [sql.Identifier(table) for table in audit_tables()]
        trigger = sql.Identifier(TRUNCATE_TRIGGER)
        with (
            role_connection("owner", alias=database) as owner,
            owner,
            owner.cursor() as cursor,
        ):
            for table in audit:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(table, trigger)
                )
            for statement in statements:
                cursor.execute(statement)
            for table in audit:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(table, trigger)
                )
        if not options.get("inhibit_post_migrate"):
            emit_post_migrate_signal(
                options["verbosity"], options["interactive"], database
            )
