"""The allocation e-mail enqueue of ``participant_randomize``: a real publish to
a private Redis queue that no worker reads (or an in-memory recorder without
Redis), timed on the main thread, counted and deleted at the end."""

import os
import threading
import time

QUEUE_PREFIX = "perform-bench-"

ENQUEUE = {"ms": 0.0, "calls": 0}  # mean enqueue time of main-thread calls


def enqueue_setup() -> str:
    """Send ``allocation_notify.delay`` to a private Redis queue if Redis answers,
    else to an in-memory list; time it on the main thread. Returns a description."""
    from config.celery_app import app
    from randomization import tasks

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001 - any broker failure means "no Redis"
        recorded = []

        def send(kwargs):
            recorded.append(kwargs)

        mode = "recorded in memory (no Redis reachable)"
    else:
        queue_name = f"{QUEUE_PREFIX}{os.getpid()}"
        app.conf.task_default_queue = queue_name
        delay = tasks.allocation_notify.delay

        def send(kwargs):
            return delay(**kwargs)

        mode = f"published to Redis queue {queue_name!r}, which no worker reads"
    main_thread = threading.main_thread()

    def timed_delay(**kwargs):
        started = time.perf_counter()
        result = send(kwargs)
        if threading.current_thread() is main_thread:
            elapsed = (time.perf_counter() - started) * 1000
            ENQUEUE["calls"] += 1
            ENQUEUE["ms"] += (elapsed - ENQUEUE["ms"]) / ENQUEUE["calls"]
        return result

    tasks.allocation_notify.delay = timed_delay
    return mode


def enqueued_count() -> int | None:
    """Messages waiting in the private Redis queue (None without one)."""
    from config.celery_app import app

    queue_name = app.conf.task_default_queue
    if not queue_name.startswith(QUEUE_PREFIX):
        return None
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(
            client.llen(key)
            for key in client.scan_iter(match=f"{queue_name}*")
            if client.type(key) in (b"list", "list")
        )


def enqueue_cleanup() -> None:
    """Delete the private queue and its kombu binding keys from Redis."""
    from config.celery_app import app

    queue_name = app.conf.task_default_queue
    if not queue_name.startswith(QUEUE_PREFIX):
        return
    try:
        with app.connection_for_write() as connection:
            client = connection.default_channel.client
            for key in list(client.scan_iter(match=f"*{queue_name}*")):
                client.delete(key)
    except Exception as error:  # noqa: BLE001 - cleanup must not hide results
        print(f"(could not delete Redis queue {queue_name}: {error})")
