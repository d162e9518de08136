"""The outbox: every e-mail the platform sends is first a row, then a send.

``emails_queue`` writes rows in the caller's transaction (so a rolled-back
save queues nothing) and, once it commits, asks a worker to send each one.
``email_deliver`` sends one pending row under a row lock and records the
outcome; ``emails_due`` lists the rows a worker should (re)try now, so a
message lost by the broker, a worker killed mid-send or an SMTP outage delays
an e-mail but never loses or doubles it.

Retries back off exponentially (``EMAIL_RETRY``: base and ceiling in seconds,
attempts before the row is marked failed); failed rows are listed for the
Methods Centre on the e-mail log page and in the admin.

Text messages (survey invitations and reminders to participants who chose
SMS) are rows too, with ``channel`` SMS, sent by ``infrastructure.sms``.

This is the platform's only way to send an e-mail or a text message: allocation and
stratum-exhaustion e-mails, password links, safety alerts, reminder digests
and DSMB notices all pass here, so every one of them is on the log.
"""

import datetime
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from infrastructure.models import OutboundEmail
from infrastructure.sms import sms_send

log = logging.getLogger(__name__)


# What a row holding a credential keeps once it is sent or has failed.
CREDENTIAL_ERASED = "(Contained a password link; erased once no longer needed.)"


@dataclass(frozen=True)
class Email:
    """An e-mail to queue: ``key`` names what it is for, once.

    ``holds_credential``: the body is a live credential (a password link),
    never shown and erased from the row once sent or failed.
    """

    key: str
    kind: str
    to: list[str]
    subject: str
    body_text: str
    body_html: str = ""
    holds_credential: bool = False
    # "sms": a text message to the one number in ``to`` (``infrastructure.sms``).
    channel: str = "email"
    # The recipient is a participant: the e-mail log never shows the address.
    to_participant: bool = False


def _message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN
    return f"<{digest}@{domain}>"


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2, ...)."""
    base, ceiling = settings.EMAIL_RETRY["BASE_SECONDS"], settings.EMAIL_RETRY["MAX"]
    return int(min(ceiling, base * 2 ** max(0, attempts - 1)))


def emails_queue(emails: list[Email]) -> dict[str, int]:
    """Write ``emails`` (those whose key is new) and send them after commit.

    Returns key → id of the rows written now; keys already in the outbox are
    left as they are, so the same decision taken twice sends once. Three
    queries however many e-mails.
    """
    if not emails:
        return {}
    now = timezone.now()
    rows = [
        OutboundEmail(
            key=e.key,
            kind=e.kind,
            to=sorted(set(e.to)),
            subject=e.subject,
            body_text=e.body_text,
            body_html=e.body_html,
            holds_credential=e.holds_credential,
            channel=e.channel,
            to_participant=e.to_participant,
            message_id=_message_id(e.key),
            next_attempt_at=now,
        )
        for e in emails
    ]
    with transaction.atomic():
        existing = set(
            OutboundEmail.objects.filter(key__in=[r.key for r in rows]).values_list(
                "key", flat=True
            )
        )
        new = [r for r in rows if r.key not in existing]
        # ON CONFLICT DO NOTHING: a concurrent sweep that wrote the same key
        # first wins, and this one carries on.
        OutboundEmail.objects.bulk_create(new, ignore_conflicts=True)
        ids = dict(
            OutboundEmail.objects.filter(key__in=[r.key for r in new]).values_list(
                "key", "pk"
            )
        )
    transaction.on_commit(lambda: _enqueue(sorted(ids.values())), robust=True)
    return ids


def _enqueue(ids: list[int]) -> None:
    from infrastructure.tasks import outbox_send

    for email_id in ids:
        try:
            outbox_send.delay(email_id=email_id)
        except Exception:  # noqa: BLE001 - broker down: outbox_flush re-sends
            log.exception("Could not queue e-mail %s; outbox_flush will", email_id)
            return


@dataclass(frozen=True)
class Delivery:
    """What ``email_deliver`` did: ``sent``, ``skipped`` (not pending), or
    ``retry`` after ``delay`` seconds, or ``failed`` for good."""

    outcome: str
    delay: int = 0
    error: str = ""


def email_deliver(email_id: int) -> Delivery:
    """Send one pending e-mail, at most once, and record the outcome.

    The row stays locked while the SMTP conversation runs, so a second
    worker given the same id waits, then finds it sent and does nothing.
    An SMTP or network error (``OSError``; ``smtplib``'s errors are OSErrors)
    is recorded with the attempt count; the caller retries after ``delay``.
    """
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != OutboundEmail.Status.PENDING:
            return Delivery("skipped")
        email.attempts += 1
        if not email.to:
            return _failed(email, "No recipient has an e-mail address.")
        if email.channel == OutboundEmail.Channel.SMS:
            return _text_deliver(email)
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            to=email.to,
            headers={"Message-ID": email.message_id},
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        try:
            message.send()
        except OSError as error:  # SMTP or network: worth trying again
            return _retry_or_fail(email, f"{type(error).__name__}: {error}"[:1000])
        except Exception as error:  # noqa: BLE001 - e.g. a malformed header
            # Not a delivery problem: sending again would fail the same way.
            return _failed(email, f"{type(error).__name__}: {error}"[:1000])
        return _sent(email)


def _text_deliver(email: OutboundEmail) -> Delivery:
    """Send a text message row (inside ``email_deliver``'s row lock)."""
    try:
        sms_send(to=email.to[0], body=email.body_text)
    except OSError as error:
        return _retry_or_fail(email, f"{type(error).__name__}: {error}"[:1000])
    except Exception as error:  # noqa: BLE001 - refused: sending again fails too
        return _failed(email, f"{type(error).__name__}: {error}"[:1000])
    return _sent(email)


def _retry_or_fail(email: OutboundEmail, text: str) -> Delivery:
    if email.attempts >= settings.EMAIL_RETRY["ATTEMPTS"]:
        return _failed(email, text)
    delay = retry_delay(email.attempts)
    email.last_error = text
    email.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
    email.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return Delivery("retry", delay=delay, error=text)


def _sent(email: OutboundEmail) -> Delivery:
    email.status = OutboundEmail.Status.SENT
    email.sent_at = timezone.now()
    email.next_attempt_at = None
    email.save(
        update_fields=[
            "attempts",
            "status",
            "sent_at",
            "next_attempt_at",
            *_credential_erase(email),
        ]
    )
    return Delivery("sent")


def _credential_erase(email: OutboundEmail) -> list[str]:
    """Erase the body of a row holding a credential; the fields changed."""
    if not email.holds_credential:
        return []
    email.body_text, email.body_html = CREDENTIAL_ERASED, ""
    return ["body_text", "body_html"]


def _failed(email: OutboundEmail, text: str) -> Delivery:
    email.status = OutboundEmail.Status.FAILED
    email.last_error = text
    email.next_attempt_at = None
    email.save(
        update_fields=[
            "attempts",
            "status",
            "last_error",
            "next_attempt_at",
            *_credential_erase(email),
        ]
    )
    log.error("E-mail %s (%s) failed for good: %s", email.pk, email.key, text)
    return Delivery("failed", error=text)


def emails_due(*, grace_seconds: int = 60) -> list[int]:
    """Pending e-mails whose (re)try time passed ``grace_seconds`` ago: their
    send task was lost (broker outage, worker killed) or never queued."""
    cutoff = timezone.now() - datetime.timedelta(seconds=grace_seconds)
    return list(
        OutboundEmail.objects.filter(
            Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True),
            status=OutboundEmail.Status.PENDING,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:1000]
    )


# What the e-mail log and the admin show instead of a participant's address.
PARTICIPANT_HIDDEN = "participant (hidden)"


def participant_address_hidden(email: OutboundEmail) -> OutboundEmail:
    """Set ``email.to_shown`` and ``email.error_shown`` for a page to show:
    for a row addressed to a participant, no address or number at all (an
    SMTP error often quotes the recipient). ``email`` itself is not saved."""
    if not email.to_participant:
        email.to_shown = ", ".join(email.to)
        email.error_shown = email.last_error
        return email
    error = email.last_error
    for address in email.to:
        if address:
            error = error.replace(address, PARTICIPANT_HIDDEN)
    email.to_shown = PARTICIPANT_HIDDEN
    email.error_shown = error
    return email
