"""Database roles and privileges (PROTOCOL §12): the record cannot be erased.

The platform uses two PostgreSQL login roles:

* the **owner** (``perform_owner`` by default) owns the schema and every table;
  ``manage.py migrate`` runs as this role and nothing else does;
* the **application** role (``perform_app``; ``settings.DATABASE_APP_ROLE``),
  used by the web server and the Celery workers: not a superuser, owns nothing,
  may read and write trial tables but only INSERT (and SELECT) on the audit
  tables (every django-pghistory event table, the pghistory context table and
  the models named in ``settings.AUDIT_LOG_MODELS``), and never TRUNCATE or
  alter anything.

``database_privileges_apply`` runs after every ``migrate`` (a post-migrate
hook, so tables added by later migrations are covered without anyone
remembering to) on the owner's connection. It

1. grants the application role what it needs and revokes the rest
   (PostgreSQL then refuses UPDATE, DELETE and TRUNCATE of audit rows with
   "permission denied"; a non-owner cannot ``ALTER TABLE … DISABLE TRIGGER``
   and a non-superuser cannot ``SET session_replication_role``);
2. adds to every audit table a statement-level trigger that refuses TRUNCATE
   whoever asks, the owner included (pghistory's own append-only triggers are
   row-level and do not fire on TRUNCATE);
3. replaces pghistory's ``_pgh_attach_context()`` with an INSERT-only version
   (see ``CONTEXT_FUNCTION_SQL``), and pgtrigger's ``_pgtrigger_should_ignore``
   with one that lets only the owner skip a trigger (``IGNORE_FUNCTION_SQL``);
4. takes from the application role what it never needs and an attacker holding
   its password could use to hide a change: UPDATE of role memberships and
   temporary tables;
5. installs ``perform_audit_clock()``, the time every audit event is stamped
   with (``settings.PGHISTORY_CREATED_AT_FUNCTION``; see ``AUDIT_CLOCK_SQL``).

Nothing here can be done by a library: pghistory protects rows, not tables or
privileges, and Django has no notion of a second database role.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg2 import sql

log = logging.getLogger(__name__)

TRUNCATE_TRIGGER = "perform_refuse_truncate"
TRUNCATE_FUNCTION = "perform_refuse_truncate"

# pghistory's own function upserts: ``ON CONFLICT (id) DO UPDATE SET metadata``,
# so the application role would need UPDATE on the context table, and anyone
# holding it could rewrite the who/why of every event already recorded. This
# version never updates: each distinct metadata of a context block is its own
# row, keyed by a UUID derived from (context id, metadata). An event therefore
# points at the metadata as it was when the event was written (pghistory's
# version showed the last metadata of the block for all of them).
CONTEXT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION _pgh_attach_context()
RETURNS pghistory_context.id%TYPE AS $$
    DECLARE
        _pgh_context_id UUID;
        _pgh_context_metadata JSONB;
        _row_id UUID;
    BEGIN
        BEGIN
            SELECT INTO _pgh_context_id CURRENT_SETTING('pghistory.context_id');
            SELECT INTO _pgh_context_metadata
                CURRENT_SETTING('pghistory.context_metadata');
            EXCEPTION WHEN OTHERS THEN
        END;
        IF _pgh_context_id IS NULL OR _pgh_context_metadata IS NULL THEN
            RETURN NULL;
        END IF;
        _row_id := md5(_pgh_context_id::text || _pgh_context_metadata::text)::uuid;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_row_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO NOTHING;
        RETURN _row_id;
    END;
$$ LANGUAGE plpgsql;
"""

# pgtrigger lets any session skip any trigger by naming it in the setting
# ``pgtrigger.ignore`` (``_pgtrigger_should_ignore``), pghistory's event
# triggers included: the application role could change rows and leave no
# event. Here only the owner role (migrations, a DBA's repair) may; for
# everyone else the setting is ignored. pgtrigger re-creates its version
# whenever a migration installs a trigger, so this runs after every migrate.
IGNORE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
    BEGIN
        IF current_user <> {owner} THEN
            RETURN FALSE;
        END IF;
        BEGIN
            SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
            EXCEPTION WHEN OTHERS THEN
        END;
        RETURN COALESCE(trigger_name = ANY(_pgtrigger_ignore), FALSE);
    END;
$$ LANGUAGE plpgsql;
"""

# The time stamped on every audit event (pghistory's ``pgh_created_at``): the
# transaction's start, ``NOW()``, for everyone but the owner role. The owner
# may set ``perform.demo_clock`` (a timestamp) for its transaction, which only
# the demo seeder does, so a demo trial's history carries the simulated moment
# each change was made at (``demo.clock``). This is no back door: the owner
# already owns every table and may skip triggers (above); the application
# role, which the web server and workers use, is always stamped ``NOW()``
# whatever it sets. Created by a migration (perform 0010) before any trigger
# uses it, and re-created here after every migrate with the owner's name.
AUDIT_CLOCK_FUNCTION = "perform_audit_clock"
AUDIT_CLOCK_SETTING = "perform.demo_clock"
AUDIT_CLOCK_SQL = f"""
CREATE OR REPLACE FUNCTION public.{AUDIT_CLOCK_FUNCTION}()
RETURNS TIMESTAMPTZ AS $$
    DECLARE
        _moment TEXT;
    BEGIN
        IF current_user <> {{owner}} THEN
            RETURN NOW();
        END IF;
        _moment := NULLIF(CURRENT_SETTING('{AUDIT_CLOCK_SETTING}', TRUE), '');
        RETURN COALESCE(_moment::TIMESTAMPTZ, NOW());
    END;
$$ LANGUAGE plpgsql STABLE;
"""

# Many-to-many rows of roles and permissions: inserted and deleted (and
# audited: perform.models), never updated in place, where an UPDATE of a
# group id would change a role and leave no event.
MEMBERSHIP_TABLES = [
    "perform_user_groups",
    "perform_user_user_permissions",
    "auth_group_permissions",
]

TRUNCATE_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {TRUNCATE_FUNCTION}() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'The audit table % cannot be truncated.', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
$$ LANGUAGE plpgsql;
"""


def audit_tables() -> list[str]:
    """Every table whose rows are the record: append-only for the application.

    The pghistory event tables (found from the models, so a new tracked model
    is covered at once), the pghistory context table and the models named in
    ``settings.AUDIT_LOG_MODELS``.
    """
    from pghistory.models import Context, Event

    models = [
        model
        for model in apps.get_models()
        if issubclass(model, Event) and not model._meta.proxy
    ]
    models.append(Context)
    models.extend(apps.get_model(label) for label in settings.AUDIT_LOG_MODELS)
    return sorted({model._meta.db_table for model in models})


def _is_owner(cursor) -> bool:
    """Whether the connected role owns the schema's tables (so may grant)."""
    cursor.execute(
        "SELECT count(*) FILTER (WHERE tableowner <> current_user), count(*) "
        "FROM pg_tables WHERE schemaname = 'public'"
    )
    not_ours, total = cursor.fetchone()
    return total > 0 and not_ours == 0


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def database_privileges_apply(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Grant the application role its privileges and protect the audit tables.

    Runs on the owner's connection (after ``migrate``); on any other
    connection (the application's own, e.g. a test flush re-sending
    post-migrate) it does nothing and returns False. Idempotent.
    """
    connection = connections[using]
    app_role = settings.DATABASE_APP_ROLE
    # One transaction: a running application never sees its grants half-done.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if not _is_owner(cursor):
            return False
        cursor.execute(CONTEXT_FUNCTION_SQL)
        cursor.execute(
            sql.SQL(IGNORE_FUNCTION_SQL).format(
                owner=sql.Literal(_current_user(cursor))
            )
        )
        audit_clock_install(cursor)
        cursor.execute(TRUNCATE_FUNCTION_SQL)
        audit = audit_tables()
        for table in audit:
            cursor.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                ).format(
                    trigger=sql.Identifier(TRUNCATE_TRIGGER),
                    table=sql.Identifier(table),
                    function=sql.Identifier(TRUNCATE_FUNCTION),
                )
            )
        if not _role_exists(cursor, app_role):
            log.warning(
                "Database role %r does not exist: no privileges granted (set "
                "DATABASE_APP_ROLE to the role the application connects as).",
                app_role,
            )
            return False
        role = sql.Identifier(app_role)
        cursor.execute(
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role)
        )
        cursor.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                "TO {}"
            ).format(role)
        )
        cursor.execute(
            sql.SQL(
                "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}"
            ).format(role)
        )
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        cursor.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(role))
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        # Audit rows are written, never changed; the migration history is
        # only read (runserver's check for unapplied migrations).
        for table in [*audit, "django_migrations"]:
            cursor.execute(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(table), role
                )
            )
        cursor.execute(
            sql.SQL("REVOKE INSERT ON django_migrations FROM {}").format(role)
        )
        for table in MEMBERSHIP_TABLES:
            cursor.execute(
                sql.SQL("REVOKE UPDATE ON {} FROM {}").format(
                    sql.Identifier(table), role
                )
            )
        # A temporary table named like an event table would take that
        # session's events (triggers name their tables unqualified, and a
        # session's temporary tables come first): no temporary tables for the
        # application. Needs the database's owner, which the owner role is.
        database = sql.Identifier(connection.settings_dict["NAME"])
        cursor.execute(
            sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(
                database, role
            )
        )
    return True


def audit_clock_install(cursor) -> None:
    """(Re-)create ``perform_audit_clock()`` honouring the connected role only
    (call on the owner's connection: migrations and the post-migrate hook)."""
    cursor.execute(
        sql.SQL(AUDIT_CLOCK_SQL).format(owner=sql.Literal(_current_user(cursor)))
    )


def _current_user(cursor) -> str:
    cursor.execute("SELECT current_user")
    return cursor.fetchone()[0]


def database_role_problems(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What is wrong with the role the application connects as, in words.

    Empty when it is not a superuser, owns no table of the schema and cannot
    change or truncate the audit tables.
    """
    connection = connections[using]
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        superuser, createrole, bypassrls = cursor.fetchone()
        if superuser:
            problems.append("connects as a PostgreSQL superuser")
        if createrole:
            problems.append("may create roles")
        if bypassrls:
            problems.append("bypasses row-level security")
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner = current_user"
        )
        if cursor.fetchone()[0]:
            problems.append("owns tables (migrations must run as the owner role)")
        cursor.execute(
            "SELECT has_database_privilege(current_user, current_database(), "
            "'TEMPORARY')"
        )
        if cursor.fetchone()[0]:
            problems.append("may create temporary tables")
        for table in audit_tables():
            cursor.execute(
                "SELECT has_table_privilege(current_user, c.oid, 'UPDATE'), "
                "has_table_privilege(current_user, c.oid, 'DELETE'), "
                "has_table_privilege(current_user, c.oid, 'TRUNCATE') "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)",
                [table],
            )
            row = cursor.fetchone()
            if row is not None and any(row):
                problems.append(f"may update, delete or truncate {table}")
    return problems
