"""The outbox (infrastructure.outbox): a row per e-mail written in the caller's
transaction, sent once under a row lock, retried with backoff, given up on
after EMAIL_RETRY["ATTEMPTS"] failures, and found again by the flush when its
send task was lost."""

import datetime
import smtplib

import pytest
from celery.exceptions import Retry
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from infrastructure import tasks
from infrastructure.models import OutboundEmail
from infrastructure.outbox import (
    CREDENTIAL_ERASED,
    Email,
    email_deliver,
    emails_due,
    emails_queue,
    retry_delay,
)

SECONDS = datetime.timedelta(seconds=1)
THIS_MODULE = __name__


class RefusingBackend:
    """An SMTP server that hangs up: every send raises."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class UnreachableBackend:
    """No SMTP server listening at all."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


class BrokenMessageBackend:
    """A message no server would take however often it is sent."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ValueError("Header values may not contain linefeed")


REFUSING = f"{THIS_MODULE}.RefusingBackend"
BROKEN = f"{THIS_MODULE}.BrokenMessageBackend"
UNREACHABLE = f"{THIS_MODULE}.UnreachableBackend"
FEW_RETRIES = {"BASE_SECONDS": 10, "MAX": 25, "ATTEMPTS": 3}


def email(key="test:1", to=("b@example.org", "a@example.org"), **fields):
    return Email(
        key=key,
        kind=fields.pop("kind", "test"),
        to=list(to),
        subject=fields.pop("subject", f"Subject {key}"),
        body_text=fields.pop("body_text", f"Body of {key}"),
        body_html=fields.pop("body_html", f"<p>Body of {key}</p>"),
        holds_credential=fields.pop("holds_credential", False),
    )


def queued(key="test:1", **fields) -> OutboundEmail:
    ids = emails_queue([email(key, **fields)])
    return OutboundEmail.objects.get(pk=ids[key])


@pytest.fixture
def enqueued(monkeypatch):
    """``outbox_send.delay`` calls, recorded instead of sent to the broker."""
    calls = []
    monkeypatch.setattr(
        tasks.outbox_send, "delay", lambda **kwargs: calls.append(kwargs)
    )
    return calls


# ---------------------------------------------------------------------------
# Queueing
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_queueing_the_same_key_twice_writes_one_row_and_returns_only_new_keys():
    first = emails_queue([email("digest:TOR:1"), email("digest:TOR:2")])
    assert set(first) == {"digest:TOR:1", "digest:TOR:2"}
    second = emails_queue(
        [email("digest:TOR:2", subject="Changed"), email("digest:TOR:3")]
    )
    assert list(second) == ["digest:TOR:3"]
    assert OutboundEmail.objects.count() == 3
    # The row already queued is left exactly as it was.
    kept = OutboundEmail.objects.get(key="digest:TOR:2")
    assert kept.pk == first["digest:TOR:2"]
    assert kept.subject == "Subject digest:TOR:2"


@pytest.mark.django_db
def test_the_same_key_twice_in_one_call_writes_one_row():
    ids = emails_queue([email("alert:1"), email("alert:1", subject="Again")])
    assert list(ids) == ["alert:1"]
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_queueing_nothing_writes_nothing_and_registers_no_callback(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        assert emails_queue([]) == {}
    assert callbacks == []


@pytest.mark.django_db
def test_recipients_are_deduplicated_and_sorted():
    row = queued(to=["zoe@example.org", "al@example.org", "zoe@example.org"])
    assert row.to == ["al@example.org", "zoe@example.org"]
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 0
    assert row.next_attempt_at is not None and row.sent_at is None


@pytest.mark.django_db
@override_settings(EMAIL_MESSAGE_ID_DOMAIN="mail.perform.test")
def test_the_message_id_is_fixed_by_the_key():
    row = queued("safety-alert:adverseevent:7")
    other = queued("safety-alert:adverseevent:8")
    assert row.message_id.startswith("<") and row.message_id.endswith(
        "@mail.perform.test>"
    )
    assert row.message_id != other.message_id
    # Queued again from scratch (e.g. after the row was purged), the same key
    # gives the same Message-ID: a resend is recognisably the same message.
    before = row.message_id
    row.delete()
    assert queued("safety-alert:adverseevent:7").message_id == before


@pytest.mark.django_db
def test_queueing_takes_the_same_number_of_queries_for_one_or_many_emails():
    with CaptureQueriesContext(connection) as one:
        emails_queue([email("one:1")])
    with CaptureQueriesContext(connection) as many:
        emails_queue([email(f"many:{n}") for n in range(25)])
    assert len(one.captured_queries) == len(many.captured_queries)
    assert OutboundEmail.objects.count() == 26


@pytest.mark.django_db
def test_a_committed_queue_asks_a_worker_to_send_each_new_row(
    enqueued, django_capture_on_commit_callbacks
):
    existing = queued("old:1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = emails_queue([email("new:1"), email("old:1"), email("new:2")])
        assert enqueued == []  # nothing before the commit
    assert len(callbacks) == 1
    assert enqueued == [{"email_id": i} for i in sorted(ids.values())]
    assert existing.pk not in ids.values()


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_no_row_and_enqueues_nothing(
    enqueued, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emails_queue([email("doomed:1")])
        assert OutboundEmail.objects.filter(key="doomed:1").exists()
        raise RuntimeError("the save failed after queueing")
    assert callbacks == []
    assert enqueued == []
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_a_broker_outage_at_commit_leaves_the_row_for_the_flush(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.outbox_send, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        ids = emails_queue([email("lost:1"), email("lost:2")])
    assert OutboundEmail.objects.filter(status="pending").count() == 2
    OutboundEmail.objects.update(next_attempt_at=timezone.now() - 120 * SECONDS)
    assert set(emails_due()) == set(ids.values())


# ---------------------------------------------------------------------------
# Delivering
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_email_is_sent_once_with_its_message_id_and_html(mailoutbox):
    row = queued("digest:TOR:2026-03-10", body_html="<p>Visits <b>due</b></p>")
    before = timezone.now()
    assert email_deliver(row.pk).outcome == "sent"
    assert email_deliver(row.pk).outcome == "skipped"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["a@example.org", "b@example.org"]
    assert message.subject == "Subject digest:TOR:2026-03-10"
    assert message.body == "Body of digest:TOR:2026-03-10"
    assert message.message()["Message-ID"] == row.message_id
    assert [(a.content, a.mimetype) for a in message.alternatives] == [
        ("<p>Visits <b>due</b></p>", "text/html")
    ]
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 1
    assert before <= row.sent_at <= timezone.now()
    assert row.next_attempt_at is None


@pytest.mark.django_db
def test_an_email_without_html_is_sent_as_plain_text(mailoutbox):
    row = queued(body_html="")
    email_deliver(row.pk)
    (message,) = mailoutbox
    assert message.alternatives == []


@pytest.mark.django_db
def test_an_unknown_id_is_skipped(mailoutbox):
    assert email_deliver(987654).outcome == "skipped"
    assert mailoutbox == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [OutboundEmail.Status.FAILED, OutboundEmail.Status.CANCELLED],
)
def test_failed_and_cancelled_emails_are_never_sent(mailoutbox, status):
    row = queued()
    OutboundEmail.objects.filter(pk=row.pk).update(status=status)
    assert email_deliver(row.pk).outcome == "skipped"
    assert mailoutbox == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == (status, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("backend", "error"),
    [
        (REFUSING, "SMTPServerDisconnected: Connection unexpectedly closed"),
        (UNREACHABLE, "ConnectionRefusedError: [Errno 111] Connection refused"),
    ],
)
def test_an_smtp_error_is_recorded_and_retried_later(mailoutbox, backend, error):
    row = queued()
    with override_settings(EMAIL_BACKEND=backend):
        before = timezone.now()
        first = email_deliver(row.pk)
        after = timezone.now()
    assert (first.outcome, first.delay, first.error) == ("retry", 30, error)
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 1
    assert row.last_error == error
    assert before + 30 * SECONDS <= row.next_attempt_at <= after + 30 * SECONDS

    with override_settings(EMAIL_BACKEND=backend):
        second = email_deliver(row.pk)
    assert (second.outcome, second.delay) == ("retry", 60)
    row.refresh_from_db()
    assert row.attempts == 2

    # The SMTP server is back: the retry sends, once.
    assert email_deliver(row.pk).outcome == "sent"
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.SENT, 3)


@pytest.mark.django_db
@override_settings(EMAIL_RETRY=FEW_RETRIES)
def test_after_the_last_attempt_an_email_is_failed_and_never_sent_again(mailoutbox):
    row = queued()
    with override_settings(EMAIL_BACKEND=REFUSING):
        outcomes = [email_deliver(row.pk) for _ in range(4)]
    assert [(d.outcome, d.delay) for d in outcomes] == [
        ("retry", 10),
        ("retry", 20),
        ("failed", 0),
        ("skipped", 0),
    ]
    assert outcomes[2].error.startswith("SMTPServerDisconnected")
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 3
    assert row.last_error.startswith("SMTPServerDisconnected")
    assert row.next_attempt_at is None and row.sent_at is None

    # Even with a working server, a failed row is not sent (nor due).
    assert email_deliver(row.pk).outcome == "skipped"
    assert mailoutbox == []
    assert row.pk not in emails_due(grace_seconds=0)


# ---------------------------------------------------------------------------
# Rows holding a credential (password links)
# ---------------------------------------------------------------------------
LINK = "https://perform.test/accounts/reset/MQ/token/"


def credential(key="password-reset:1:0f", **fields) -> OutboundEmail:
    return queued(key, body_text=f"Open {LINK}", holds_credential=True, **fields)


@pytest.mark.django_db
def test_a_password_link_is_sent_then_erased_from_its_row(mailoutbox):
    ordinary = queued("digest:TOR:1")
    row = credential(body_html=f"<a href='{LINK}'>link</a>")
    assert email_deliver(row.pk).outcome == "sent"
    assert email_deliver(ordinary.pk).outcome == "sent"
    assert LINK in mailoutbox[0].body
    assert LINK in mailoutbox[0].alternatives[0].content
    row.refresh_from_db()
    assert (row.status, row.body_text, row.body_html) == (
        OutboundEmail.Status.SENT,
        CREDENTIAL_ERASED,
        "",
    )
    # Rows holding no credential keep their body (the admin shows it).
    ordinary.refresh_from_db()
    assert ordinary.body_text == "Body of digest:TOR:1"


@pytest.mark.django_db
@override_settings(EMAIL_RETRY=FEW_RETRIES)
def test_a_password_link_is_kept_for_its_retries_and_erased_when_it_fails(mailoutbox):
    row = credential()
    with override_settings(EMAIL_BACKEND=REFUSING):
        assert email_deliver(row.pk).outcome == "retry"
        row.refresh_from_db()
        assert LINK in row.body_text  # needed for the next attempt
        outcomes = [email_deliver(row.pk).outcome for _ in range(2)]
    assert outcomes == ["retry", "failed"]
    row.refresh_from_db()
    assert (row.status, row.body_text) == (
        OutboundEmail.Status.FAILED,
        CREDENTIAL_ERASED,
    )
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_email_with_no_recipient_fails_at_once_with_its_reason(mailoutbox):
    row = queued(to=[])
    result = email_deliver(row.pk)
    assert result.outcome == "failed"
    assert result.error == "No recipient has an e-mail address."
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 1
    assert row.last_error == "No recipient has an e-mail address."
    assert mailoutbox == []


@override_settings(EMAIL_RETRY={"BASE_SECONDS": 30, "MAX": 3600, "ATTEMPTS": 15})
def test_retry_delay_doubles_up_to_the_ceiling():
    assert [retry_delay(n) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert retry_delay(50) == 3600
    assert retry_delay(0) == 30


@override_settings(EMAIL_RETRY={"BASE_SECONDS": 2.5, "MAX": 12, "ATTEMPTS": 3})
def test_retry_delay_follows_the_settings_and_is_whole_seconds():
    assert [retry_delay(n) for n in range(1, 5)] == [2, 5, 10, 12]
    assert all(isinstance(retry_delay(n), int) for n in range(1, 5))


# ---------------------------------------------------------------------------
# What the flush picks up
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_emails_due_lists_pending_rows_past_their_retry_time_and_grace():
    now = timezone.now()
    rows = {
        key: queued(key)
        for key in (
            "lost-long-ago",
            "lost",
            "just-queued",
            "retry-later",
            "no-time",
            "sent",
            "failed",
            "cancelled",
        )
    }
    times = {
        "lost-long-ago": now - 3600 * SECONDS,
        "lost": now - 90 * SECONDS,
        "just-queued": now - 20 * SECONDS,  # its task is probably on its way
        "retry-later": now + 600 * SECONDS,
        "no-time": None,
        "sent": now - 3600 * SECONDS,
        "failed": now - 3600 * SECONDS,
        "cancelled": now - 3600 * SECONDS,
    }
    for key, at in times.items():
        OutboundEmail.objects.filter(pk=rows[key].pk).update(
            next_attempt_at=at,
            status=key if key in ("sent", "failed", "cancelled") else "pending",
        )
    assert emails_due() == [
        rows["lost-long-ago"].pk,
        rows["lost"].pk,
        rows["no-time"].pk,
    ]
    assert set(emails_due(grace_seconds=0)) == {
        rows["lost-long-ago"].pk,
        rows["lost"].pk,
        rows["just-queued"].pk,
        rows["no-time"].pk,
    }


@pytest.mark.django_db
def test_a_retry_after_an_smtp_error_is_not_due_until_its_time():
    row = queued()
    with override_settings(EMAIL_BACKEND=REFUSING):
        email_deliver(row.pk)
    assert emails_due(grace_seconds=0) == []
    OutboundEmail.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - 61 * SECONDS
    )
    assert emails_due() == [row.pk]


# ---------------------------------------------------------------------------
# The tasks, run in this process
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_outbox_send_sends_once_however_often_it_runs(mailoutbox):
    row = queued()
    first = tasks.outbox_send.apply(kwargs={"email_id": row.pk})
    second = tasks.outbox_send.apply(kwargs={"email_id": row.pk})
    assert (first.get(), second.get()) == ("sent", "skipped")
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.SENT, 1)


@pytest.mark.django_db
def test_outbox_send_asks_for_a_retry_when_the_server_refuses(mailoutbox):
    row = queued()
    with override_settings(EMAIL_BACKEND=UNREACHABLE), pytest.raises(Retry) as retry:
        tasks.outbox_send.apply(kwargs={"email_id": row.pk})
    assert retry.value.when == 30  # retry_delay(1), not Celery's own backoff
    assert "Connection refused" in str(retry.value.exc)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.PENDING, 1)
    assert mailoutbox == []


@pytest.mark.django_db
def test_outbox_flush_queues_every_due_email(enqueued):
    due, fresh = queued("due"), queued("fresh")
    OutboundEmail.objects.filter(pk=due.pk).update(
        next_attempt_at=timezone.now() - 300 * SECONDS
    )
    assert tasks.outbox_flush.apply().get() == 1
    assert enqueued == [{"email_id": due.pk}]
    assert fresh.pk not in [call["email_id"] for call in enqueued]


@pytest.mark.django_db
def test_an_error_that_is_not_a_delivery_problem_fails_at_once(mailoutbox):
    row = queued()
    with override_settings(EMAIL_BACKEND=BROKEN):
        delivery = email_deliver(row.pk)
    assert delivery.outcome == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.FAILED, 1)
    assert row.last_error == "ValueError: Header values may not contain linefeed"
    assert row.next_attempt_at is None
    # Failed rows are neither due for the flush nor sent by a late task.
    assert row.pk not in emails_due(grace_seconds=0)
    assert email_deliver(row.pk).outcome == "skipped"
    assert mailoutbox == []
