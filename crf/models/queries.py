"""Data queries (PROTOCOL §7, data management): a question on one field of one
form, raised by the Methods Centre or an automatic check, answered by the site,
closed or re-opened by the data manager. Every step is a message, audited.

A query on a per-visit form (the follow-up) also names the visit, so that it
can sit on that visit's form before the form exists: an overdue visit's query
(``crf.queries.automatic``) has the visit and no ``form_id`` until, and after,
the site enters the form; the form's page finds it by participant, form type
and visit (``crf.queries.services.queries_on_form``)."""

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
    # None only for a query anchored on a visit (below) whose form is not entered.
    form_id = models.PositiveBigIntegerField(null=True, blank=True)
    form = GenericForeignKey("form_type", "form_id")
    # The visit code of a per-visit form ("6w"); "" for every other form.
    visit = models.CharField(max_length=5, blank=True)
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
            ),
            # A query on a visit's form not entered yet: one per visit and check.
            models.UniqueConstraint(
                fields=["participant", "form_type", "visit", "check_code"],
                condition=~models.Q(check_code="")
                & ~models.Q(status="closed")
                & models.Q(form_id__isnull=True),
                name="one_open_automatic_visit_query_per_check",
            ),
            # A query sits on an entered form or on a visit's form.
            models.CheckConstraint(
                condition=models.Q(form_id__isnull=False) | ~models.Q(visit=""),
                name="query_on_a_form_or_a_visit",
            ),
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
