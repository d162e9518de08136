"""Patient-reported outcomes (PROTOCOL §13): how a participant may be
contacted, the personal survey links sent to them, the reminders, and each
visit's questionnaire response.

* ``ContactPreference`` — recorded by the site at consent or later: whether the
  participant agrees to electronic contact, the channel, the address or
  number, the preferred language and a proxy. Only the participant's site
  staff see it (``crf.epro.contacts``); e-mails and Methods Centre pages never
  show it.
* ``SurveyInvitation`` — one per participant and visit: the link sent when the
  visit window opens. Only a digest of the link's token is stored
  (``crf.epro.links``).
* ``SurveyReminder`` — the n-th reminder of an invitation, at most once each.
* ``PromResponse`` — the TESS, EQ-5D-5L and BPI answers of one visit, with the
  mode (link, clinic tablet, staff transcription of paper), who answered,
  the language, and start and submit times. Submitted answers are copied into
  the visit's form (``crf.epro.responses.response_submit``) and are read-only
  to staff from then on; a correction goes through a data query with a reason.
"""

import pghistory
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from infrastructure.models import OutboundEmail
from perform.models import Participant, audited


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message (SMS)"
    CLINIC = "clinic", "Clinic only (no messages)"


class Respondent(models.TextChoices):
    PARTICIPANT = "participant", "The participant"
    PROXY = "proxy", "A proxy (caregiver or relative)"


class ResponseMode(models.TextChoices):
    LINK = "link", "Personal link"
    TABLET = "tablet", "Clinic tablet"
    PAPER = "paper", "Paper, transcribed by staff"


@pghistory.track(*audited())
class ContactPreference(models.Model):
    """How and whether the participant may be contacted about questionnaires."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="contact_preference"
    )
    electronic_contact = models.BooleanField(
        verbose_name="Agrees to be contacted electronically"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    email = models.EmailField(blank=True, verbose_name="E-mail address")
    # International (E.164) form, as SMS providers take it: +, country code,
    # number; the contact form strips spaces, dots and dashes first.
    phone = models.CharField(
        max_length=16,
        blank=True,
        verbose_name="Mobile number",
        validators=[
            RegexValidator(
                r"^\+[1-9][0-9]{7,14}$",
                "Give the number in international form, e.g. +1 416 555 0123.",
            )
        ],
    )
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, verbose_name="Preferred language"
    )
    proxy_name = models.CharField(
        max_length=200,
        blank=True,
        verbose_name="Proxy who answers",
        help_text="Name of a caregiver or relative who answers for the participant.",
    )
    proxy_relationship = models.CharField(
        max_length=100, blank=True, verbose_name="Proxy's relationship"
    )
    # Set when the participant asks for no more messages (reminders stop).
    opted_out_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(channel="email", electronic_contact=True) | ~Q(email=""),
                name="contact_email_channel_needs_address",
            ),
            models.CheckConstraint(
                condition=~Q(channel="sms", electronic_contact=True) | ~Q(phone=""),
                name="contact_sms_channel_needs_number",
            ),
        ]

    def __str__(self):
        return f"Contact preference of {self.participant_id}"

    @property
    def messages_allowed(self) -> bool:
        """May the platform send this participant survey messages now?"""
        return (
            self.electronic_contact
            and self.channel in (Channel.EMAIL, Channel.SMS)
            and self.opted_out_at is None
        )


@pghistory.track(*audited())
class SurveyInvitation(models.Model):
    """The personal link of one participant's questionnaires at one visit."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="survey_invitations"
    )
    visit = models.CharField(max_length=5)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # SHA-256 of the link's token (the token itself is never stored); the
    # nonce lets the platform derive the same token again for a reminder.
    token_digest = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=32)
    window_start = models.DateField()
    window_end = models.DateField()
    # The site's calendar date the invitation was sent: reminders count from it.
    invited_on = models.DateField()
    message = models.ForeignKey(
        OutboundEmail,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant_id", "window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit"], name="one_invitation_per_visit"
            )
        ]

    def __str__(self):
        return f"Invitation {self.participant_id} {self.visit}"


class SurveyReminder(models.Model):
    """The ``number``-th reminder of an invitation (1 … ``REMINDER_COUNT``)."""

    invitation = models.ForeignKey(
        SurveyInvitation, on_delete=models.PROTECT, related_name="reminders"
    )
    number = models.PositiveSmallIntegerField()
    message = models.ForeignKey(
        OutboundEmail, on_delete=models.PROTECT, related_name="+"
    )
    for_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invitation_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "number"], name="one_reminder_per_number"
            )
        ]

    def __str__(self):
        return f"Reminder {self.number} of {self.invitation_id}"


@pghistory.track(*audited())
class PromResponse(models.Model):
    """One visit's patient-reported questionnaires (TESS, EQ-5D-5L, BPI).

    ``answers``: field name of the visit's form (``tess_1``, ``eq5d_vas`` …) →
    value; ``missing_codes``: field name → missing-data code (``DEC`` for
    "I prefer not to answer", ``NA`` for a TESS item that does not apply).
    ``pages_done``: the instruments whose page the respondent has finished.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="prom_responses"
    )
    visit = models.CharField(max_length=5)
    mode = models.CharField(max_length=10, choices=ResponseMode.choices)
    respondent = models.CharField(
        max_length=12, choices=Respondent.choices, default=Respondent.PARTICIPANT
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    invitation = models.ForeignKey(
        SurveyInvitation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
    )
    # Staff who opened the clinic tablet, or transcribed the paper form.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.IN_PROGRESS
    )
    answers = models.JSONField(default=dict, blank=True)
    missing_codes = models.JSONField(default=dict, blank=True)
    pages_done = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    last_saved_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant_id", "visit"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit"], name="one_prom_response_per_visit"
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress", submitted_at__isnull=True)
                | Q(status="submitted", submitted_at__isnull=False),
                name="prom_submitted_has_time",
            ),
        ]

    def __str__(self):
        return f"PROM {self.participant_id} {self.visit} ({self.status})"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED
