"""The allocation e-mail: queued on commit, written to the outbox once, sent to
the right people.

PROTOCOL §5: the allocation is e-mailed to the site coordinator and the
randomizer. ``allocation_notify`` is enqueued only when the randomization has
committed (a worker must never see, or announce, an allocation that was rolled
back) and writes one outbox row per recipient under a key naming the
allocation and the recipient, so a redelivered task or a repeated decision
writes (and sends) nothing twice.
"""

import os
import time
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse

from config.celery_app import app
from infrastructure.models import OutboundEmail
from infrastructure.tasks import outbox_send
from perform import roles
from randomization import services, tasks
from randomization.exceptions import NotRandomizable
from randomization.models import Slot
from randomization.services.emails import allocation_emails_queue
from tests.factories import UserFactory, user_with_role

ARM_LABELS = {"IF": "Internal fixation", "RER": "Resection with endoprosthetic"}


def allocation_key(participant, why, user):
    return f"allocation:{participant.study_id}:{why}:{user.pk}"


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
    rows = OutboundEmail.objects.filter(kind="allocation")
    assert sorted(rows.values_list("key", flat=True)) == sorted(
        [
            allocation_key(participant, "randomizer", users["randomizer"]),
            allocation_key(participant, "site-coordinator", users["coordinator"]),
            allocation_key(participant, "site-coordinator", tor_staff["coordinator_b"]),
        ]
    )
    assert {row.status for row in rows} == {OutboundEmail.Status.SENT}

    # Redelivered: nothing more is written or sent.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.allocation_notify.delay(slot_id=slot.pk).get() == 0
    assert callbacks == []
    assert len(mail.outbox) == 3
    assert rows.count() == 3


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
# Outbox rows: keys, the e-mail log, a repeated decision
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_each_recipient_gets_an_outbox_row_keyed_by_study_id_role_and_user(
    client, users, site_a, active_list, consented, tor_staff
):
    participant = consented(site_a)
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot

    assert allocation_emails_queue(slot_id=slot.pk) == 3
    rows = {row.key: row for row in OutboundEmail.objects.filter(kind="allocation")}
    expected = {
        allocation_key(participant, "randomizer", users["randomizer"]): users[
            "randomizer"
        ],
        allocation_key(participant, "site-coordinator", users["coordinator"]): users[
            "coordinator"
        ],
        allocation_key(
            participant, "site-coordinator", tor_staff["coordinator_b"]
        ): tor_staff["coordinator_b"],
    }
    assert set(rows) == set(expected)
    for key, user in expected.items():
        assert rows[key].to == [user.email]
        assert rows[key].status == OutboundEmail.Status.PENDING
        assert not rows[key].holds_credential
        # The slot's id would number it within its stratum: never in a key.
        assert f":{slot.pk}:" not in key

    # On the e-mail log, with their keys, for whoever may read it.
    client.force_login(users["datamanager"])
    page = client.get(reverse("email_log"), {"kind": "allocation"}).content.decode()
    for key in expected:
        assert f'data-key="{key}"' in page
    assert ARM_LABELS[slot.arm] not in page  # bodies are not on the log

    # The same decision taken again (e.g. the notified mark lost) writes
    # nothing: the keys are already in the outbox.
    Slot.objects.filter(pk=slot.pk).update(notified_at=None)
    assert allocation_emails_queue(slot_id=slot.pk) == 0
    assert OutboundEmail.objects.filter(kind="allocation").count() == 3
    assert Slot.objects.get(pk=slot.pk).notified_at is not None


@pytest.mark.django_db
def test_a_coordinator_who_randomized_gets_one_email(
    users, site_a, active_list, consented
):
    participant = consented(site_a)
    slot = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    ).slot
    Slot.objects.filter(pk=slot.pk).update(allocated_by=users["coordinator"])

    assert allocation_emails_queue(slot_id=slot.pk) == 1
    (row,) = OutboundEmail.objects.filter(kind="allocation")
    assert row.key == allocation_key(participant, "randomizer", users["coordinator"])
    assert row.to == [users["coordinator"].email]


def test_the_emails_tell_only_roles_that_may_see_what_they_tell():
    table = roles.role_permissions()
    for role in roles.ALLOCATION_EMAIL_SITE_ROLES:
        assert "randomization.view_allocation" in table[role]
        assert role in roles.SITE_ROLES
    for role in roles.LIST_ALERT_ROLES:
        assert "randomization.manage_lists" in table[role]


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
            outbox_send.name: {"queue": QUEUE},
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

    rows = OutboundEmail.objects.filter(kind="allocation")
    assert wait_for(lambda: rows.filter(status="sent").count() == 2), (
        "no e-mails within 20 s"
    )
    assert Slot.objects.filter(pk=slot.pk, notified_at__isnull=False).exists()
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(
        [users["coordinator"].email, users["randomizer"].email]
    )
    # A redelivery through the worker writes no row, so nothing more is sent.
    assert tasks.allocation_notify.delay(slot_id=slot.pk).get(timeout=WAIT_SECONDS) == 0
    assert rows.count() == 2
    assert len(mail.outbox) == 2
