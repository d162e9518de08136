"""Password-reset e-mail through the outbox and a real Celery worker on the real
Redis broker.

The reset writes an outbox row; its commit queues ``outbox_send``, which the
worker runs. The worker runs in a thread of the test process
(``start_worker``), so the locmem e-mail backend's ``mail.outbox`` sees what
it sends. Each test process routes the task to a queue of its own, so
parallel test runs sharing the Redis database never take (or purge) each
other's messages.
"""

import os
import re
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from celery.signals import after_task_publish, task_success
from django.conf import settings
from django.core import mail
from django.urls import reverse

from config.celery_app import app
from infrastructure.models import OutboundEmail
from infrastructure.outbox import CREDENTIAL_ERASED, Email, emails_queue
from infrastructure.tasks import outbox_send
from tests.factories import PASSWORD, UserFactory, login_post_data

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUE = f"perform-test-worker-{os.getpid()}"
WAIT_SECONDS = 20
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/reset/[^\s]+/)")
RESET_KEY = re.compile(r"password-reset:(\d+):[0-9a-f]{32}")
NEW_PASSWORD = "violet-lantern-harbour-42"


def wait_for(predicate, *, seconds=WAIT_SECONDS, interval=0.05):
    """Poll ``predicate`` until it is truthy or ``seconds`` pass; return its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@contextmanager
def _own_queue():
    """Route ``outbox_send`` to this process's queue; restore routing afterwards."""
    routes, consume_from = app.conf.task_routes, list(app.amqp.queues.consume_from)
    app.conf.update(task_routes={outbox_send.name: {"queue": QUEUE}})
    app.amqp.queues.select([QUEUE])
    try:
        yield
    finally:
        app.conf.update(task_routes=routes)
        app.amqp.queues.select(consume_from)


@pytest.fixture
def worker():
    """A real worker consuming this process's queue; records what passed through.

    Yields a dict: ``published`` lists ``(task id, routing key)`` of each
    ``outbox_send`` sent to the broker, ``succeeded`` lists ``(task id, eager?,
    queue delivered from)`` of each one the worker ran.
    """
    assert app.conf.task_always_eager is False
    assert urlsplit(app.conf.broker_url).scheme == "redis"
    assert urlsplit(app.conf.result_backend).scheme == "redis"
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)  # fail fast if Redis is down
    seen = {"published": [], "succeeded": []}

    def on_publish(sender=None, headers=None, routing_key=None, **kwargs):
        if sender == outbox_send.name:
            seen["published"].append((headers["id"], routing_key))

    def on_success(sender=None, **kwargs):
        request = sender.request
        seen["succeeded"].append(
            (request.id, request.is_eager, request.delivery_info.get("routing_key"))
        )

    after_task_publish.connect(on_publish, weak=False)
    task_success.connect(on_success, sender=outbox_send, weak=False)
    hijack = app.conf.worker_hijack_root_logger
    app.conf.worker_hijack_root_logger = False  # keep pytest's log capture
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
                yield seen
    finally:
        app.conf.worker_hijack_root_logger = hijack
        after_task_publish.disconnect(on_publish)
        task_success.disconnect(on_success, sender=outbox_send)


@pytest.fixture
def member():
    return UserFactory(username="resetme", email="reset.me@example.org")


def test_an_outbox_row_is_sent_by_the_worker_from_this_queue(worker):
    emails_queue(
        [
            Email(
                key="worker-test:1",
                kind="test",
                to=["limits@example.org"],
                subject="limits",
                body_text="-",
            )
        ]
    )
    assert wait_for(lambda: mail.outbox), "no e-mail within 20 s"
    assert [m.to for m in mail.outbox] == [["limits@example.org"]]
    assert wait_for(lambda: worker["succeeded"])
    [(task_id, routing_key)] = worker["published"]
    assert routing_key == QUEUE
    assert worker["succeeded"] == [(task_id, False, QUEUE)]
    assert OutboundEmail.objects.get(key="worker-test:1").status == "sent"


def test_password_reset_email_is_sent_by_the_worker_and_its_link_sets_a_password(
    client, worker, member
):
    response = client.post(reverse("password_reset"), {"email": member.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")

    # The view wrote an outbox row and returned: the worker sends it.
    row = OutboundEmail.objects.get(kind="password_reset")
    assert RESET_KEY.fullmatch(row.key).group(1) == str(member.pk)
    assert row.to == [member.email] and row.holds_credential
    assert wait_for(lambda: len(mail.outbox) >= 1), "no e-mail within 20 s"
    [(task_id, routing_key)] = worker["published"]
    assert routing_key == QUEUE
    result = AsyncResult(task_id, app=app)
    assert result.get(timeout=WAIT_SECONDS) == "sent"
    assert result.state == "SUCCESS"  # read back from the Redis result backend
    # task_success is sent after the result is stored: wait for it too.
    assert wait_for(lambda: worker["succeeded"])
    assert worker["succeeded"] == [(task_id, False, QUEUE)]
    assert len(mail.outbox) == 1
    [message] = mail.outbox
    assert message.to == [member.email]
    assert message.extra_headers["Message-ID"] == row.message_id
    link = RESET_LINK.search(message.body)
    assert link, message.body
    # Sent: the row is on the log, its link no longer in the database.
    row.refresh_from_db()
    assert (row.status, row.body_text, row.body_html) == ("sent", CREDENTIAL_ERASED, "")

    # Follow the link: Django moves the token into the session and redirects.
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    old = client.post(reverse("login"), login_post_data(member.username, PASSWORD))
    assert old.status_code == 200
    assert not old.wsgi_request.user.is_authenticated
    new = client.post(reverse("login"), login_post_data(member.username, NEW_PASSWORD))
    assert new.status_code == 302
    assert client.get(reverse("home")).wsgi_request.user == member


def test_password_reset_for_an_unknown_address_sends_nothing(client, worker, member):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    # Every e-mail is an outbox row first: no row, nothing to send, ever.
    assert not OutboundEmail.objects.exists()
    assert worker["published"] == []
    assert mail.outbox == []


def test_password_reset_link_is_built_from_site_url(client, worker, member):
    client.post(reverse("password_reset"), {"email": member.email})
    assert wait_for(lambda: mail.outbox), "no e-mail within 20 s"
    assert f"{settings.SITE_URL}/accounts/reset/" in mail.outbox[0].body
