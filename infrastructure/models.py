"""The outbox's table: every e-mail the platform sends is a row first."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    """One e-mail the platform must send: written in the transaction that
    decides it, sent by a worker afterwards (an outbox).

    ``key`` says what the e-mail is for (a site's digest for a day, the alert
    of one event), so deciding twice writes one row, and a worker sends a row
    only while it is pending, under a row lock: a redelivered or repeated task
    sends nothing twice. ``message_id`` is fixed per row, so even a resend
    after a crash between the SMTP server's acceptance and the commit (which
    no sender can rule out) carries the same Message-ID and mail clients
    show it once.

    ``holds_credential`` marks a row whose body is a live credential (a link to
    choose a password): its body is shown nowhere (the e-mail log never shows
    bodies; the admin leaves it out) and is erased once the row is sent or has
    failed, so the table keeps the link only while it is on its way.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Never to be sent (e.g. the demo's made-up history).
        CANCELLED = "cancelled", "Not sent"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        # A text message: ``to`` holds one phone number (E.164), the body is
        # ``body_text``, sent by ``infrastructure.sms``; no subject is sent.
        SMS = "sms", "Text message"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.EMAIL
    )
    # The recipient is a participant (a survey link): the log shows no address.
    to_participant = models.BooleanField(default=False)
    to = ArrayField(models.EmailField(), default=list)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    holds_credential = models.BooleanField(default=False)
    message_id = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Moved from the perform app (which first held it); the table keeps its
        # name so the move changed no data (migrations 0001 here, 0013 there).
        db_table = "perform_outboundemail"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="outbound_email_pending",
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.key} ({self.status})"
