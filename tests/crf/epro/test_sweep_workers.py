"""Survey invitations and reminders delivered exactly once end to end: the
sweep task published to the real Redis broker and run by real ``celery
worker`` processes, e-mails sent over SMTP to a local server (aiosmtpd), text
messages written by the SMS file backend into a folder of the test's own.

The worker is killed twice, with SIGKILL as a crash would: first inside the
sweep's transaction (held at its outbox insert by a row another connection is
writing), then while it sends the messages (the SMTP server holds a
conversation). Each time a new worker runs the sweep again and the outbox
flush; every participant receives each message once.

The sweep runs at the real time here (``epro_sweep_task`` takes no clock), so
surgery dates are set from the site's date today; test_sweep.py tests the
days with fixed clocks.
"""

import datetime
import json
import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crf.epro.invitations import epro_sweep
from crf.models import ContactPreference, Operative, SurveyInvitation, SurveyReminder
from crf.schedule.visits import site_today
from crf.tasks import epro_sweep_task
from infrastructure.models import OutboundEmail
from infrastructure.outbox import CREDENTIAL_ERASED
from infrastructure.tasks import outbox_flush
from tests.crf.bulk import form_kwargs, participants_add
from tests.workers import queue_purge, wait_for, worker_settled

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DAY = datetime.timedelta(days=1)


@pytest.fixture
def sms_folder(tmp_path):
    return tmp_path / "sms"


@pytest.fixture
def worker_env(sms_folder):
    """The workers write text messages where this test reads them."""
    return {
        "SMS_BACKEND": "infrastructure.sms.FileBackend",
        "SMS_FILE_PATH": str(sms_folder),
    }


def texts_received(folder):
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def unsent():
    return OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT)


@pytest.fixture
def cohort(users, site_a):
    """Site A: six e-mail and two SMS participants whose 2-week window opens
    today (invitations due), and three e-mail and one SMS participant invited
    three days ago (first reminder due), their invitations already sent."""
    actor = users["coordinator"]
    today = site_today(site_a.time_zone)
    new = participants_add(site_a, 8, actor=actor)
    earlier = participants_add(site_a, 4, actor=actor)
    Operative.objects.bulk_create(
        [Operative(**form_kwargs(p, actor, surgery_date=today - 10 * DAY)) for p in new]
        + [
            Operative(**form_kwargs(p, actor, surgery_date=today - 13 * DAY))
            for p in earlier
        ]
    )
    sms = {new[6], new[7], earlier[3]}
    ContactPreference.objects.bulk_create(
        ContactPreference(
            participant=p,
            electronic_contact=True,
            channel="sms" if p in sms else "email",
            email="" if p in sms else f"p{n}@example.org",
            phone=f"+1416555{100 + n:04d}" if p in sms else "",
            language="en",
            recorded_by=actor,
        )
        for n, p in enumerate(new + earlier)
    )
    # Three days ago, the earlier four were invited (and those messages went
    # out then: marked sent here, their send tasks dropped).
    with transaction.atomic():
        three_days_ago = epro_sweep(now=datetime_days_ago(3))
    assert three_days_ago.invitations == 4
    OutboundEmail.objects.update(
        status=OutboundEmail.Status.SENT, body_text=CREDENTIAL_ERASED
    )
    queue_purge()
    contacts = ContactPreference.objects.filter(participant__in=new + earlier)
    return {
        "emails": Counter(c.email for c in contacts if c.channel == "email"),
        "numbers": Counter(c.phone for c in contacts if c.channel == "sms"),
        "earlier": earlier,
    }


def datetime_days_ago(days):
    return timezone.now() - days * DAY


class OutboxInsertBlocker:
    """Another connection writes the outbox row the sweep is about to write
    (its key) and keeps its transaction open: the sweep's insert waits on the
    unique key, inside the sweep's transaction, until ``release``; the row is
    then rolled back, as if never written."""

    def __init__(self, key):
        self.key = key
        self.xid = ""
        self.written = threading.Event()
        self._release = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    class _Rollback(Exception):
        pass

    def _run(self):
        try:
            with transaction.atomic():
                OutboundEmail.objects.create(
                    key=self.key,
                    kind="blocker",
                    subject="-",
                    body_text="-",
                    message_id="<blocker@example.org>",
                )
                with connection.cursor() as cursor:
                    cursor.execute("SELECT (txid_current() % 4294967296)::text")
                    self.xid = cursor.fetchone()[0]
                self.written.set()
                self._release.wait(60)
                raise self._Rollback
        except self._Rollback:
            pass
        finally:
            connection.close()

    def start(self):
        self.thread.start()
        assert self.written.wait(10)

    def release(self):
        self._release.set()
        self.thread.join(20)


def waiting_on(xid: str) -> bool:
    """Whether another transaction waits for transaction ``xid`` to end
    (``pg_locks`` shows every session's locks to every role)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid'"
            " AND NOT granted AND transactionid::text = %s",
            [xid],
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_sweep_and_mid_send_delivers_each_message_once(
    workers, mailbox, cohort, sms_folder
):
    reminded = SurveyInvitation.objects.filter(participant__in=cohort["earlier"])
    first_key = f"epro-reminder:{reminded.order_by('pk').first().pk}:1"

    # 1. Killed inside the sweep's transaction: it has made the new
    # invitations and is writing the outbox rows when it dies.
    blocker = OutboxInsertBlocker(first_key)
    blocker.start()
    first = workers()
    epro_sweep_task.delay()
    assert wait_for(lambda: waiting_on(blocker.xid)), first.log()
    first.kill()
    blocker.release()
    # Its transaction rolled back: nothing of that sweep remains.
    assert wait_for(lambda: SurveyInvitation.objects.count() == 4)
    assert not SurveyReminder.objects.exists()
    assert OutboundEmail.objects.count() == 4  # the invitations of 3 days ago
    assert mailbox.messages == [] and texts_received(sms_folder) == []

    # 2. A new worker sweeps; the SMTP server takes three e-mails and holds
    # the fourth conversation: the worker is killed there, mid-send.
    mailbox.hold_after(3)
    second = workers()
    assert epro_sweep_task.delay().get(timeout=60) == {
        "invitations": 8,
        "reminders": 4,
    }
    assert wait_for(mailbox.holding.is_set), second.log()
    second.kill()
    mailbox.release()
    assert len(mailbox.messages) == 3
    assert unsent().exists()

    # 3. Another worker: beat would run the sweep (idempotent) and the outbox
    # flush; here they run at once.
    third = workers()
    assert epro_sweep_task.delay().get(timeout=60) == {
        "invitations": 0,
        "reminders": 0,
    }
    outbox_flush.delay(grace_seconds=0)
    expected_emails = sum(cohort["emails"].values())
    assert wait_for(
        lambda: len(mailbox.messages) >= expected_emails and not unsent().exists()
    ), third.log()
    worker_settled(third)

    received = Counter(m.to[0] for m in mailbox.messages)
    assert received == cohort["emails"]  # each e-mail exactly once
    assert len({m.message_id for m in mailbox.messages}) == expected_emails
    subjects = Counter(m.subject for m in mailbox.messages)
    assert subjects == {
        "PERFORM study: your questionnaires are ready": 6,
        "PERFORM study: a reminder about your questionnaires": 3,
    }
    texts = texts_received(sms_folder)
    assert Counter(t["to"] for t in texts) == cohort["numbers"]
    assert all("/survey/" in t["body"] for t in texts)
    assert OutboundEmail.objects.count() == 4 + 8 + 4
    assert SurveyReminder.objects.count() == 4
    # Every link and reminder body is erased from the outbox once sent.
    assert not OutboundEmail.objects.filter(body_text__contains="/survey/").exists()
