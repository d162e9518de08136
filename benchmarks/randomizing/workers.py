"""Running a call for every item from several workers started together: threads
of this process (one GIL) or forked processes (each its own database and Redis
connections), timed from the start signal to the end of the last worker."""

import multiprocessing
import queue
import threading
import time

MODES = ("threads", "processes")
WORKER_TIMEOUT = 120  # seconds a worker may take to connect, or to send results


def broker_pools_reset(*, close: bool) -> None:
    """Drop the Celery app's broker connection pool and producer pool, so the
    next publish opens a fresh connection in this process.

    ``close``: close their connections first; only where they were opened (the
    parent before it forks). A forked worker passes False: it must not use the
    parent's sockets, nor shut them down under the parent (Celery's own
    after-fork hook already drops the pools; this makes sure of it).
    """
    from config.celery_app import app

    amqp = app.__dict__.get("amqp")  # a cached property; only if already made
    producers = getattr(amqp, "_producer_pool", None) if amqp else None
    if close:
        for pool in (producers, app._pool):
            if pool is not None:
                pool.force_close_all()
    app._pool = None
    if amqp is not None:
        amqp._producer_pool = None


def run_threads(items, workers: int, call, *, connect):
    """Run ``call(item)`` for every item from ``workers`` threads started together,
    each after ``connect()``; return (wall seconds, latencies in seconds, errors)."""
    from django.db import connections

    todo = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    barrier = threading.Barrier(workers + 1)
    latencies: list[float] = []
    errors: list = []
    lock = threading.Lock()

    def worker():
        mine = []
        try:
            connect()
            barrier.wait()
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    break
                started = time.perf_counter()
                try:
                    call(item)
                except Exception as error:  # noqa: BLE001 - reported at the end
                    with lock:
                        errors.append((str(item), repr(error)))
                    continue
                mine.append(time.perf_counter() - started)
        finally:
            with lock:
                latencies.extend(mine)
            connections.close_all()  # this thread's Django connection

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


def run_processes(items, workers: int, call, *, connect, disconnect=None):
    """Run ``call(item)`` for every item from ``workers`` forked processes started
    together, each after ``connect()`` (and ``disconnect()`` at its end); return
    (wall seconds, latencies in seconds, errors as (item, repr) pairs).

    Forked after Django is set up and the data seeded: the workers inherit
    ``items`` and ``call``; they share only a counter (the next item's index),
    the start barrier and the results queue. Each worker sends one result, its
    latencies and errors, when it has no item left; the wall time runs from the
    start signal to the last result.
    """
    from django.db import connections

    context = multiprocessing.get_context("fork")
    # Nothing open for the workers to inherit: no database connection, no broker
    # connection (a forked socket used by two processes corrupts both sessions).
    connections.close_all()
    broker_pools_reset(close=True)
    next_index = context.Value("l", 0)  # with its own lock
    barrier = context.Barrier(workers + 1)
    results = context.Queue()

    def worker(number: int) -> None:
        latencies, errors = [], []
        try:
            connections.close_all()  # own Django connection on first use
            broker_pools_reset(close=False)  # own Redis connection on first publish
            connect()
            barrier.wait(timeout=WORKER_TIMEOUT)
            while True:
                with next_index.get_lock():
                    index = next_index.value
                    next_index.value = index + 1
                if index >= len(items):
                    break
                item = items[index]
                started = time.perf_counter()
                try:
                    call(item)
                except Exception as error:  # noqa: BLE001 - reported at the end
                    errors.append((str(item), repr(error)))
                    continue
                latencies.append(time.perf_counter() - started)
        except BaseException as error:  # noqa: BLE001 - reported by the parent
            barrier.abort()
            errors.append((f"worker process {number}", repr(error)))
        finally:
            results.put((latencies, errors))
            if disconnect is not None:
                disconnect()
            connections.close_all()
            broker_pools_reset(close=True)  # this process's own connections

    processes = [
        context.Process(target=worker, args=(number,), daemon=True)
        for number in range(workers)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    errors: list = []
    try:
        barrier.wait(timeout=WORKER_TIMEOUT)
    except threading.BrokenBarrierError:
        errors.append(("start", "a worker process failed before the start"))
    started = finished = time.perf_counter()
    for _ in processes:
        try:
            mine, their_errors = results.get(timeout=WORKER_TIMEOUT)
        except queue.Empty:
            errors.append(("results", "a worker process sent no result"))
            break
        finished = time.perf_counter()
        latencies += mine
        errors += their_errors
    for process in processes:
        process.join(timeout=WORKER_TIMEOUT)
        if process.is_alive():
            process.kill()
            errors.append(("exit", f"worker process {process.pid} did not end"))
        elif process.exitcode:
            errors.append(("exit", f"worker process exit code {process.exitcode}"))
    results.close()
    return finished - started, latencies, errors


RUNNERS = {"threads": run_threads, "processes": run_processes}
