"""What the workers tell people (PROTOCOL §6, §9): visit reminders and
expedited safety alerts. Each row points to the outbox e-mail that carries it
(``infrastructure.models.OutboundEmail``), which says whether and when it was sent.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from infrastructure.models import OutboundEmail
from perform.models import Participant, Site


class VisitReminder(models.Model):
    """One visit listed in one reminder digest: to whom, for which visit,
    why, for which day. A digest is one e-mail listing many visits.

    Unique per digest e-mail and visit; the e-mail's key is unique per
    recipient and day (site digests) or week (Methods Centre digests), so a
    visit is reminded at most once per recipient per day.
    """

    class Reason(models.TextChoices):
        OPENING = "opening", "Window opens soon"
        CLOSING = "closing", "Window closes soon"
        OVERDUE = "overdue", "Overdue"

    class Digest(models.TextChoices):
        DAILY = "daily", "Site daily digest"
        WEEKLY = "weekly", "Methods Centre weekly digest"

    email = models.ForeignKey(
        OutboundEmail, on_delete=models.PROTECT, related_name="visit_reminders"
    )
    digest = models.CharField(max_length=10, choices=Digest.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="visit_reminders"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    visit = models.CharField(max_length=5)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    # The site's local date the digest is for (daily), or the week's Monday.
    for_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-for_date", "participant_id", "visit"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "participant", "visit"],
                name="one_reminder_per_visit_per_digest",
            )
        ]
        indexes = [models.Index(fields=["participant", "for_date"])]

    def __str__(self):
        return f"{self.participant_id} {self.visit} {self.reason} {self.for_date}"


class SafetyAlert(models.Model):
    """The expedited alert of one safety event: a serious adverse event, a
    death or a reoperation (one alert per event, whatever edits follow)."""

    class Kind(models.TextChoices):
        SAE = "sae", "Serious adverse event"
        DEATH = "death", "Death"
        REOPERATION = "reoperation", "Reoperation"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="safety_alerts"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    form_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    form_id = models.PositiveBigIntegerField()
    form = GenericForeignKey("form_type", "form_id")
    # Date the site became aware (the event date where the form has none),
    # when the form was first saved, and whether that was more than 24 hours
    # after awareness (PROTOCOL §9).
    awareness_date = models.DateField(null=True, blank=True)
    entered_at = models.DateTimeField()
    late = models.BooleanField(default=False)
    email = models.OneToOneField(
        OutboundEmail, on_delete=models.PROTECT, related_name="safety_alert"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["form_type", "form_id"], name="one_alert_per_event"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} alert for {self.participant_id}"
