"""The allocation e-mail: queued on commit, sent once to the right people.

PROTOCOL §5: the allocation is e-mailed to the site coordinator and the
randomizer. ``allocation_notify`` is enqueued only when the randomization has
committed (a worker must never see, or announce, an allocation that was rolled
back) and is idempotent (a redelivered task sends nothing twice).
"""

import os
import time
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from config.celery_app import app
from infrastructure.tasks import email_send
from perform import roles
from randomization import services, tasks
from randomization.exceptions import NotRandomizable
from randomization.models import Slot
from tests.factories import UserFactory, user_with_role

ARM_LABELS = {"IF": "Internal fixation", "RER": "Resection with endoprosthetic"}


@pytest.fixture
def enqueued(monkeypatch):
    """``allocation_notify.delay`` calls, recorded instead of sent to the broker."""
    calls = []
    monkeypatch.setattr(
        tasks.allocation_notify, "delay", lambda **kwargs: calls.append(kwargs)
    )
    return calls


@pytest.fixture
def eager_tasks(monkeypatch):
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)


@pytest.fixture
def tor_staff(users, site_a, site_b):
    """A second TOR coordinator, and people who must not get the e-mail."""
    return {
        "coordinator_b": user_with_role(
            roles.SITE_COORDINATOR, username="coordinator_b", sites=[site_a]
        ),
        "inactive": UserFactory(
            username="gone",
            role=roles.SITE_COORDINATOR,
            sites=[site_a],
            is_active=False,
        ),
        "no_email": UserFactory(
            username="noemail", role=roles.SITE_COORDINATOR, sites=[site_a], email=""
        ),
    }


# ---------------------------------------------------------------------------
# Enqueued on commit only
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_allocation_email_is_enqueued_only_when_the_randomization_commits(
    users, site_a, active_list, consented, enqueued, django_capture_on_commit_callbacks
):
    participant = consented(site_a)
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
        assert enqueued == []  # not before the commit

    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [{"slot_id": result.slot.pk}]


@pytest.mark.django_db
def test_a_repeated_or_refused_request_enqueues_nothing(
    users,
    site_a,
    active_list,
    consented,
    screen,
    enqueued,
    django_capture_on_commit_callbacks,
):
    participant = consented(site_a)
    not_consented = screen(users["coordinator"], site_a)
    services.participant_randomize(actor=users["randomizer"], participant=participant)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
        with pytest.raises(NotRandomizable):
            services.participant_randomize(
                actor=users["randomizer"], participant=not_consented
            )
    assert not again.created
    assert callbacks == [] and enqueued == []


# ---------------------------------------------------------------------------
# Running the task
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_task_emails_each_coordinator_of_the_site_and_the_randomizer_once(
    users,
    site_a,
    active_list,
    consented,
    tor_staff,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    participant = consented(site_a)
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sent = tasks.allocation_notify.delay(slot_id=slot.pk).get()

    expected = sorted(
        [
            users["coordinator"].email,
            tor_staff["coordinator_b"].email,
            users["randomizer"].email,
        ]
    )
    assert sent == 3
    assert sorted(to for m in mail.outbox for to in m.to) == expected
    assert all(len(m.to) == 1 for m in mail.outbox)  # nobody sees the others
    for message in mail.outbox:
        assert message.subject == f"PERFORM: {participant.study_id} randomized"
        assert participant.study_id in message.body
        assert f"{ARM_LABELS[slot.arm]}" in message.body
        assert f"({slot.arm})" in message.body
        assert "block" not in message.body.lower()  # never block sizes
    slot.refresh_from_db()
    assert slot.notified_at is not None

    # Redelivered: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.allocation_notify.delay(slot_id=slot.pk).get() == 0
    assert callbacks == []
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_coordinators_of_another_site_are_not_told(
    users,
    site_b,
    active_list,
    consented,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    participant = consented(site_b, fracture_status="complete")
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.allocation_notify.delay(slot_id=slot.pk)
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(
        [users["coordinator2"].email, users["randomizer"].email]
    )


# ---------------------------------------------------------------------------
# Through a real Celery worker on Redis
# ---------------------------------------------------------------------------
QUEUE = f"perform-test-randomization-{os.getpid()}"
WAIT_SECONDS = 20


def wait_for(predicate, *, seconds=WAIT_SECONDS, interval=0.05):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@contextmanager
def _own_queue():
    """Route both tasks to this process's queue (parallel runs share Redis)."""
    routes, consume_from = app.conf.task_routes, list(app.amqp.queues.consume_from)
    app.conf.update(
        task_routes={
            tasks.allocation_notify.name: {"queue": QUEUE},
            email_send.name: {"queue": QUEUE},
        }
    )
    app.amqp.queues.select([QUEUE])
    try:
        yield
    finally:
        app.conf.update(task_routes=routes)
        app.amqp.queues.select(consume_from)


@pytest.fixture
def worker():
    assert app.conf.task_always_eager is False
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)  # fail fast if Redis is down
    hijack = app.conf.worker_hijack_root_logger
    app.conf.worker_hijack_root_logger = False
    try:
        with _own_queue():
            app.control.purge()  # only this process's queue is selected
            with start_worker(
                app,
                pool="solo",
                perform_ping_check=False,
                queues=[QUEUE],
                loglevel="WARNING",
                shutdown_timeout=WAIT_SECONDS,
            ):
                yield
    finally:
        app.conf.worker_hijack_root_logger = hijack


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_allocation_emails_once(
    users, site_a, active_list, consented, worker
):
    participant = consented(site_a)
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot

    assert wait_for(lambda: len(mail.outbox) >= 2), "no e-mails within 20 s"
    assert wait_for(
        lambda: Slot.objects.filter(pk=slot.pk, notified_at__isnull=False).exists()
    )
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(
        [users["coordinator"].email, users["randomizer"].email]
    )
    # A redelivery through the worker sends nothing more (a canary proves the
    # worker has handled everything queued before it).
    assert tasks.allocation_notify.delay(slot_id=slot.pk).get(timeout=WAIT_SECONDS) == 0
    canary = email_send.delay(subject="canary", body="-", to=["canary@example.org"])
    assert canary.get(timeout=WAIT_SECONDS) == 1
    assert len(mail.outbox) == 3
