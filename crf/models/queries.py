"""Data queries (PROTOCOL §7, data management): a question on one field of one
form, raised by the Methods Centre or an automatic check, answered by the site,
closed or re-opened by the data manager. Every step is a message, audited."""

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from perform.models import Participant, audited


@pghistory.track(*audited())
class DataQuery(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered by site"
        CLOSED = "closed", "Closed"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="data_queries"
    )
    form_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    form_id = models.PositiveBigIntegerField()
    form = GenericForeignKey("form_type", "form_id")
    field_name = models.CharField(max_length=60, blank=True)
    text = models.TextField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    # Set for automatic checks: the rule that raised it (one open query per rule).
    check_code = models.CharField(max_length=60, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["participant", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["form_type", "form_id", "check_code"],
                condition=~models.Q(check_code="") & ~models.Q(status="closed"),
                name="one_open_automatic_query_per_check",
            )
        ]

    def __str__(self):
        return f"Query {self.pk} on {self.field_name or 'form'} ({self.status})"


# A query still waiting for the site or for the data manager.
UNRESOLVED_QUERY_STATUSES = (DataQuery.Status.OPEN, DataQuery.Status.ANSWERED)


@pghistory.track(*audited())
class QueryMessage(models.Model):
    class Action(models.TextChoices):
        RAISED = "raised", "Raised"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Re-opened"

    query = models.ForeignKey(
        DataQuery, on_delete=models.PROTECT, related_name="messages"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    text = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["query", "at", "id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%Y-%m-%d}"
