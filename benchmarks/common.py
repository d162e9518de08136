"""The harness every benchmark shares: a scratch database, Django on it, and
accounts with a role.

A benchmark's ``main`` parses its arguments and hands its measuring function
to ``scratch_database_run``, which creates a scratch database
``<prefix>_<pid>`` on the server of ``DATABASE_URL`` (the database named there
is never touched), points ``DATABASE_URL`` at it before Django is set up, and
drops it at the end, whatever happens. The measuring function then calls
``django_setup`` and ``migrate`` (and ``analyze`` after a bulk load).

Settings: ``DJANGO_SETTINGS_MODULE`` if set (``make bench`` sets it through
``scripts/services.py env --profile bench``), else the test settings.

``make bench`` runs every ``benchmarks/*.py``, this one too: run as a script it
measures nothing.
"""

import os
from collections.abc import Callable
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/perform"
SETTINGS_MODULE = "config.settings.test"


# ---------------------------------------------------------------------------
# Scratch database (before Django is set up)
# ---------------------------------------------------------------------------
def server_params(url: str) -> dict:
    """psycopg2 connection parameters of ``url``'s server (no database name)."""
    import environ

    config = environ.Env.db_url_config(url)
    params = {
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
    }
    return {key: value for key, value in params.items() if value}


def scratch_url(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    base, _, rest = url.rpartition("/")
    query = ("?" + rest.split("?", 1)[1]) if "?" in rest else ""
    return f"{base}/{name}{query}"


def admin_execute(params: dict, sql: str) -> None:
    """Run ``sql`` outside a transaction in the server's ``postgres`` database."""
    connection = psycopg2.connect(dbname="postgres", **params)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def scratch_database_run(prefix: str, benchmark: Callable[[dict], int]) -> int:
    """Run ``benchmark`` on a fresh scratch database ``<prefix>_<pid>``; return
    its exit status.

    ``benchmark`` is called with the psycopg2 connection parameters of the
    scratch database (for work outside Django); Django is not set up yet, and
    ``DATABASE_URL`` names the scratch database when it is. The database is
    dropped afterwards, whatever happens (connections closed first).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    params = server_params(url)
    scratch = f"{prefix}_{os.getpid()}"
    print(f"Scratch database {scratch} on {params.get('host', 'the local socket')}.")
    admin_execute(params, f'CREATE DATABASE "{scratch}"')
    # Before django.setup(): the settings read DATABASE_URL when imported.
    os.environ["DATABASE_URL"] = scratch_url(url, scratch)
    try:
        return benchmark({**params, "dbname": scratch})
    finally:
        from django.db import connections

        connections.close_all()
        admin_execute(params, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        print(f"Dropped {scratch}.")


# ---------------------------------------------------------------------------
# Django on the scratch database
# ---------------------------------------------------------------------------
def django_setup() -> None:
    """Set Django up (on the scratch database, inside ``scratch_database_run``)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()


def migrate() -> None:
    """Create the tables (and the roles' groups) in the scratch database."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def analyze() -> None:
    """Gather planner statistics, as autovacuum would after a bulk load; without
    them every join is planned for a handful of rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def user_with_role(username: str, role: str, sites=(), *, email: str = ""):
    """An account in the group ``role``, a member of ``sites``."""
    from django.contrib.auth.models import Group

    from perform.models import SiteMembership, User

    account = User.objects.create_user(username=username, email=email)
    account.groups.set([Group.objects.get(name=role)])
    for site in sites:
        SiteMembership.objects.create(user=account, site=site)
    return account


if __name__ == "__main__":
    print("benchmarks/common.py is the benchmarks' shared harness: nothing to measure.")
