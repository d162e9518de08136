"""The two PostgreSQL login roles of README "Database roles", for
``scripts/services.py``: ``perform_owner`` owns the database and runs the
migrations, ``perform_app`` serves. Created (or corrected) through a superuser
connection; passwords are local-development ones unless set in the
environment. Standard library only at import (``services.py stop`` runs
without the virtualenv); psycopg2 is imported where used.
"""

from __future__ import annotations

import os
import sys


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def _role_names() -> tuple[str, str]:
    return (
        os.environ.get("PERFORM_DB_OWNER", "perform_owner"),
        os.environ.get("PERFORM_DB_APP", "perform_app"),
    )


def _role_passwords() -> tuple[str, str]:
    # Local development only: the machine's server trusts local connections,
    # and a server that asks for passwords gets these, which we just set.
    return (
        os.environ.get("PERFORM_DB_OWNER_PASSWORD", "perform-owner-local"),
        os.environ.get("PERFORM_DB_APP_PASSWORD", "perform-app-local"),
    )


def ensure_roles(admin, dbname: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """Create (or correct) the owner and application roles, give the database
    and every object in its schema to the owner; return (name, password) of
    the owner and of the application role.

    ``admin`` must connect as a superuser. Idempotent: run on every start, so
    a database made before the roles existed (its tables owned by the
    superuser) is brought into line.
    """
    from psycopg2 import sql

    owner, app = _role_names()
    owner_password, app_password = _role_passwords()
    conn = admin.connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for role, password, options in (
                (owner, owner_password, "NOSUPERUSER CREATEDB NOCREATEROLE"),
                (app, app_password, "NOSUPERUSER NOCREATEDB NOCREATEROLE"),
            ):
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                verb = "ALTER" if cur.fetchone() else "CREATE"
                if verb == "CREATE":
                    log(f"creating database role {role}")
                cur.execute(
                    sql.SQL(
                        verb + " ROLE {} WITH LOGIN " + options + " NOBYPASSRLS "
                        "PASSWORD {}"
                    ).format(sql.Identifier(role), sql.Literal(password))
                )
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
            if cur.fetchone() is None:
                log(f"creating database {dbname} owned by {owner}")
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(owner)
                    )
                )
            else:
                cur.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(dbname), sql.Identifier(owner)
                    )
                )
    finally:
        conn.close()
    _give_schema_to(admin, dbname, owner)
    return (owner, owner_password), (app, app_password)


def _give_schema_to(admin, dbname: str, owner: str) -> None:
    """Make ``owner`` the owner of schema public and of every table, sequence,
    view and function in it (tables made by an earlier superuser migrate)."""
    from psycopg2 import sql

    conn = admin.connect(dbname)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            statements = [
                sql.SQL("ALTER SCHEMA public OWNER TO {}").format(
                    sql.Identifier(owner)
                ),
                sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            ]
            cur.execute(
                "SELECT c.relname, c.relkind FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
                "AND pg_get_userbyid(c.relowner) <> %s "
                # sequences owned by a table move with it
                "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d "
                "WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))",
                [owner],
            )
            kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
            for name, kind in cur.fetchall():
                statements.append(
                    sql.SQL(
                        "ALTER " + kinds.get(kind, "SEQUENCE") + " {} OWNER TO {}"
                    ).format(sql.Identifier("public", name), sql.Identifier(owner))
                )
            cur.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "WHERE p.pronamespace = 'public'::regnamespace "
                "AND pg_get_userbyid(p.proowner) <> %s",
                [owner],
            )
            for (signature,) in cur.fetchall():
                statements.append(
                    sql.SQL("ALTER ROUTINE " + signature + " OWNER TO {}").format(
                        sql.Identifier(owner)
                    )
                )
            if len(statements) > 2:
                log(f"giving {len(statements) - 2} objects of {dbname} to {owner}")
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()
