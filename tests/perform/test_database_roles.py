"""The application's database login cannot erase or alter the record
(PROTOCOL §12; ``perform.database``).

Every test of the suite runs as the application role (tests/dbsupport); these
ones try, as that role, what a hostile insider holding its password would try
against each audit table, and check that the owner role cannot TRUNCATE them
either.
"""

import os
import subprocess
import sys
from pathlib import Path

import environ
import psycopg2
import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from pghistory.models import Context
from psycopg2 import sql

from perform import services
from perform.database import (
    audit_tables,
    database_privileges_apply,
    database_role_problems,
)
from perform.models import ParticipantEvent
from tests.dbsupport.roles import role_connection

ROOT = Path(__file__).resolve().parents[2]


def refused(statement: str, params=None) -> bool:
    """Run ``statement`` as the application role in a savepoint; True when
    PostgreSQL refuses it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError:
        return True
    return False


def ident(table: str) -> str:
    return sql.Identifier(table).as_string(connection.connection)


@pytest.fixture
def audited_rows(users, site_a, screen):
    """At least one row in the main audit tables (a screening writes events
    and their context)."""
    participant = screen(users["coordinator"], site_a)
    assert ParticipantEvent.objects.filter(pgh_obj_id=participant.pk).exists()
    assert Context.objects.exists()
    return participant


def test_the_audit_tables_are_every_event_table_the_context_and_the_logs():
    tables = set(audit_tables())
    assert {
        "pghistory_context",
        "perform_participantevent",
        "django_admin_log",
        "outcomes_reportdownload",
        "randomization_listevent",
    } <= tables
    assert "perform_participant" not in tables


@pytest.mark.django_db
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE", "TRUNCATE"])
def test_the_application_role_cannot_change_any_audit_table(audited_rows, verb):
    statements = {
        # SET a column every table has to itself: refused before it is read.
        "UPDATE": "UPDATE {t} SET {c} = {c}",
        "DELETE": "DELETE FROM {t}",
        "TRUNCATE": "TRUNCATE {t} CASCADE",
    }
    allowed = []
    for table in audit_tables():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s ORDER BY ordinal_position LIMIT 1",
                [table],
            )
            (column,) = cursor.fetchone()
        statement = statements[verb].format(t=ident(table), c=ident(column))
        if not refused(statement):
            allowed.append(table)
    assert allowed == []
    # Nothing was lost on the way.
    assert ParticipantEvent.objects.filter(pgh_obj_id=audited_rows.pk).exists()


@pytest.mark.django_db
def test_the_application_role_may_still_write_and_read_audit_rows(audited_rows):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pghistory_context (id, metadata, created_at, updated_at) "
            "VALUES (gen_random_uuid(), '{}', now(), now())"
        )
        cursor.execute("SELECT count(*) FROM pghistory_context")
        assert cursor.fetchone()[0] >= 2


@pytest.mark.django_db
def test_the_context_of_an_event_cannot_be_rewritten_through_an_upsert(
    audited_rows,
):
    """pghistory's own context function upserted (ON CONFLICT DO UPDATE);
    the application role has no UPDATE, so an upsert onto a recorded context
    is refused, and ours only ever inserts."""
    context = Context.objects.order_by("created_at").first()
    assert refused(
        "INSERT INTO pghistory_context (id, metadata, created_at, updated_at) "
        "VALUES (%s, '{\"user\": 0}', now(), now()) "
        "ON CONFLICT (id) DO UPDATE SET metadata = EXCLUDED.metadata",
        [context.pk],
    )
    context.refresh_from_db()
    assert context.metadata.get("user") != 0


@pytest.mark.django_db
def test_each_event_keeps_the_metadata_it_was_written_with(users, site_a, screen):
    """Two writes in one context block with different reasons: each event
    points at its own context row (pghistory's upsert showed the last reason
    for both)."""
    import pghistory

    coordinator = users["coordinator"]
    with pghistory.context(user=coordinator.pk, url="/test/"):
        participant = screen(coordinator, site_a, answers={})
        for age, reason in [(70, "First correction"), (71, "Second correction")]:
            services.participant_screening_update(
                actor=coordinator,
                participant=participant,
                reason=reason,
                screening_date=participant.screening_date,
                age_at_screening=age,
                sex=participant.sex,
                answers={},
                fracture_status=participant.fracture_status,
            )
    reasons = {
        event.age_at_screening: event.pgh_context.metadata.get("reason")
        for event in ParticipantEvent.objects.filter(
            pgh_obj_id=participant.pk, pgh_label="update"
        ).select_related("pgh_context")
    }
    assert reasons[70] == "First correction"
    assert reasons[71] == "Second correction"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "SET session_replication_role = replica",
        "ALTER TABLE perform_participantevent DISABLE TRIGGER ALL",
        "ALTER TABLE perform_participantevent DISABLE TRIGGER USER",
        "ALTER TABLE pghistory_context DISABLE TRIGGER perform_refuse_truncate",
        "DROP TRIGGER perform_refuse_truncate ON pghistory_context",
        "CREATE TABLE perform_sneaky (id int)",
        "ALTER TABLE perform_participant ADD COLUMN sneaky int",
        "GRANT perform_owner TO perform_app",
        "ALTER ROLE perform_app SUPERUSER",
        "SET ROLE perform_owner",
        "CREATE OR REPLACE FUNCTION _pgh_attach_context() RETURNS uuid AS "
        "$$ SELECT NULL::uuid $$ LANGUAGE sql",
    ],
)
def test_the_application_role_cannot_switch_protection_off(statement):
    assert refused(statement)


@pytest.mark.django_db
def test_granting_itself_a_privilege_on_an_audit_table_changes_nothing():
    """A non-owner's GRANT is only a warning ("no privileges were granted")."""
    assert not refused("GRANT UPDATE, DELETE ON pghistory_context TO PUBLIC")
    assert refused("DELETE FROM pghistory_context")


@pytest.mark.django_db(transaction=True)
def test_nobody_can_truncate_an_audit_table_not_even_the_owner(audited_rows):
    with role_connection("owner") as owner, owner.cursor() as cursor:
        cursor.execute("SET lock_timeout = '5s'")
        for table in audit_tables():
            cursor.execute("SAVEPOINT attempt")
            with pytest.raises(psycopg2.Error, match="cannot be truncated"):
                cursor.execute(
                    sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table))
                )
            cursor.execute("ROLLBACK TO SAVEPOINT attempt")
        owner.rollback()
    assert ParticipantEvent.objects.filter(pgh_obj_id=audited_rows.pk).exists()


@pytest.mark.django_db
def test_the_application_role_has_no_problem_the_check_knows():
    assert database_role_problems() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner = current_user"
        )
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db
def test_the_application_role_cannot_grant_itself_privileges():
    """post-migrate runs the grants on every connection; the application's
    own does nothing (it is not the owner) instead of failing."""
    assert database_privileges_apply() is False
    assert refused("UPDATE pghistory_context SET metadata = '{}'")


@pytest.mark.django_db(transaction=True)
def test_the_owner_role_is_reported_as_unfit_to_serve():
    from tests.dbsupport.roles import use_role

    use_role("owner")
    try:
        problems = database_role_problems()
    finally:
        use_role("app")
    assert any("owns tables" in problem for problem in problems)


def test_make_run_connects_as_a_role_that_is_not_a_superuser():
    """``make run`` takes its DATABASE_URL from ``services.py env``: the
    application role, which is neither a superuser nor the tables' owner; the
    settings' default names the same role."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_APP_ROLE"}
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "scripts" / "services.py"), "env"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    )
    app = environ.Env.db_url_config(exported["DATABASE_URL"].strip("'"))
    owner = environ.Env.db_url_config(exported["DATABASE_OWNER_URL"].strip("'"))
    assert app["USER"] == exported["DATABASE_APP_ROLE"] == "perform_app"
    assert owner["USER"] == "perform_owner"
    params = {
        "dbname": app["NAME"],
        "host": app["HOST"] or None,
        "port": app["PORT"] or None,
        "user": app["USER"],
        "password": app["PASSWORD"] or None,
    }
    with psycopg2.connect(**params) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
            "WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner = current_user"
        )
        assert cursor.fetchone() == (0,)
    conn.close()


def test_the_settings_default_database_login_is_the_application_role():
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DJANGO_SETTINGS"))
    }
    environment["DEBUG"] = "true"
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-c",
            "from config.settings import base as settings; "
            "print(settings.DATABASES['default']['USER'], settings.DATABASE_APP_ROLE)",
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["perform_app", "perform_app"]


@pytest.mark.django_db(transaction=True)
def test_the_database_role_check_command_refuses_a_role_fit_only_to_migrate():
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests.dbsupport.roles import use_role

    out = StringIO()
    call_command("database_role_check", stdout=out)
    assert "fit to serve" in out.getvalue()
    use_role("owner")
    try:
        with pytest.raises(CommandError, match="owns tables"):
            call_command("database_role_check")
    finally:
        use_role("app")


@pytest.mark.django_db
def test_the_application_role_cannot_skip_the_audit_triggers(users, site_a, screen):
    """pgtrigger lets a session name triggers to skip; not this role."""
    participant = screen(users["coordinator"], site_a)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(tgname) FROM pg_trigger "
            "WHERE tgrelid = 'perform_participant'::regclass AND NOT tgisinternal"
        )
        (names,) = cursor.fetchone()
        assert names
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, true)",
            ["{" + ",".join(names) + "}"],
        )
        cursor.execute(
            "UPDATE perform_participant SET screening_notes = 'quietly' WHERE id = %s",
            [participant.pk],
        )
    assert ParticipantEvent.objects.filter(
        pgh_obj_id=participant.pk, screening_notes="quietly"
    ).exists()


@pytest.mark.django_db
def test_the_application_role_can_neither_shadow_tables_nor_rewrite_memberships(
    users,
):
    assert refused("CREATE TEMPORARY TABLE perform_participantevent (id int)")
    for table in ("perform_user_groups", "auth_group_permissions"):
        assert refused(f"UPDATE {table} SET id = id")  # noqa: S608


@pytest.mark.django_db
def test_a_role_groups_permissions_changed_anywhere_are_audited(users):
    from django.contrib.auth.models import Group, Permission

    from perform.models import GroupPermissionEvent

    group = Group.objects.get(name="Data manager")
    closed = Permission.objects.get(codename="view_closed_report")
    group.permissions.add(closed)
    event = GroupPermissionEvent.objects.get(
        group_id=group.pk, permission_id=closed.pk, pgh_label="group_permission.add"
    )
    assert event.pgh_created_at is not None
