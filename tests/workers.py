"""Real parts for the e-mail tests: a local SMTP server (aiosmtpd) that keeps
what it receives, and Celery workers run as separate processes (the
``celery worker`` command) on the real Redis broker and the test database.

Each test process uses a queue of its own, so parallel test runs sharing the
Redis database never take each other's messages. A worker process can be
killed with SIGKILL (its whole process group, as a crash or the OOM killer
would) and another one started. ``BeatProcess`` runs ``celery beat`` with the
database scheduler on the test database, publishing to the same queue.
"""

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from amqp.exceptions import ChannelError
from django.db import connection

from config.celery_app import app

ROOT = Path(__file__).resolve().parent.parent
QUEUE = f"perform-test-{os.getpid()}-mail"
WAIT_SECONDS = 60


def wait_for(predicate, *, seconds=WAIT_SECONDS, interval=0.1):
    """Poll ``predicate`` until it is truthy or ``seconds`` pass; return it."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    to: tuple[str, ...]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


class Mailbox:
    """aiosmtpd handler: keeps accepted messages; can refuse the next ``n``
    messages (421, as a server in trouble does) or hold a conversation at
    RCPT once ``hold_after`` messages have been accepted."""

    def __init__(self):
        self.messages: list[Received] = []
        self.refused = 0
        self._refuse = 0
        self._hold_after: int | None = None
        self.holding = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()

    def reset(self):
        with self._lock:
            self.messages.clear()
            self.refused = 0
            self._refuse = 0
            self._hold_after = None
        self.holding.clear()
        self._release.set()

    def refuse_next(self, n: int):
        self._refuse = n

    def hold_after(self, n: int):
        """Hold the conversation of the message after the ``n``-th accepted
        one at RCPT (before any content is sent) until ``release``."""
        self._release.clear()
        self._hold_after = n

    def release(self):
        self._release.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self._hold_after is not None and len(self.messages) >= self._hold_after:
            self._hold_after = None
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.2 Held by the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            if self._refuse > 0:
                self._refuse -= 1
                self.refused += 1
                return "421 4.3.2 Service not available, try again later"
            message = email.message_from_bytes(
                envelope.content, policy=email.policy.default
            )
            self.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), message)
            )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server():
    """A local SMTP server on a free port; yields (mailbox, port)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        mailbox.release()
        controller.stop()


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    """``celery worker`` in a process group of its own, consuming ``QUEUE``,
    on the test database, sending mail to ``smtp_port``."""

    name = "worker"
    ready_text = "ready."  # in the log once it consumes

    def __init__(self, *, smtp_port: int, log_dir: Path, env: dict | None = None):
        self.smtp_port = smtp_port
        self.log_dir = log_dir
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.started = 0

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
            "EMAIL_TIMEOUT": "20",
            "EMAIL_RETRY_BASE_SECONDS": "0.5",
            "EMAIL_RETRY_MAX_SECONDS": "2",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "",
            **self.extra_env,
        }

    def argv(self) -> list[str]:
        return [
            "worker",
            "-Q",
            QUEUE,
            "-P",
            "prefork",
            "-c",
            "1",
            "-n",
            f"test-{os.getpid()}-{self.started}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def start(self) -> "WorkerProcess":
        self.started += 1
        self.log_path = self.log_dir / f"{self.name}-{self.started}.log"
        log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "celery", "-A", "config", *self.argv()]
            + ["-l", "INFO"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        ready = wait_for(
            lambda: self.ready_text in self.log() or self.process.poll() is not None
        )
        assert ready and self.process.poll() is None, self.log()
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def node_name(self) -> str:
        return f"test-{os.getpid()}-{self.started}@{socket.gethostname()}"

    def idle(self) -> bool:
        """True once this run's queue is empty and the worker holds no task
        (running, prefetched or waiting for its retry time)."""
        with app.connection_for_write() as conn:
            try:
                waiting = conn.default_channel.queue_declare(
                    QUEUE, passive=True
                ).message_count
            except ChannelError:  # Redis keeps no empty queue
                waiting = 0
        if waiting:
            return False
        inspector = app.control.inspect(destination=[self.node_name()], timeout=1)
        held = [inspector.active(), inspector.reserved(), inspector.scheduled()]
        if any(answer is None for answer in held):
            return False  # no answer yet: not known to be idle
        return not any(tasks for answer in held for tasks in answer.values())

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


class BeatProcess(WorkerProcess):
    """``celery beat`` with django-celery-beat's database scheduler, reading the
    periodic task rows of the test database and publishing to ``QUEUE``."""

    name = "beat"
    ready_text = "beat: Starting..."

    def argv(self) -> list[str]:
        return [
            "beat",
            "-S",
            "django_celery_beat.schedulers:DatabaseScheduler",
        ]


def worker_settled(worker: WorkerProcess) -> None:
    """Let the worker finish everything there is to send: the outbox flush
    re-queues whatever is pending, then wait until the worker is idle. What it
    sent is then all it will send (where a fixed pause used to guess)."""
    from infrastructure.tasks import outbox_flush

    outbox_flush.delay(grace_seconds=0).get(timeout=60)
    assert wait_for(worker.idle), worker.log()


def queue_purge() -> None:
    """Drop every message left in ``QUEUE`` (by earlier tests of this run)."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)


@contextmanager
def publishing_to_queue():
    """Send every task this process publishes to ``QUEUE``."""
    routes = app.conf.task_routes
    app.conf.update(task_routes={"*": {"queue": QUEUE}})
    try:
        yield
    finally:
        app.conf.update(task_routes=routes)
