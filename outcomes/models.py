"""DSMB reports (PROTOCOL §11): each generated report, and each download."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class Report(models.Model):
    """One generated (or generating) report: its request, progress and files.

    The files live in ``settings.REPORTS_ROOT`` under ``pdf_name`` and
    ``json_name``; the JSON holds every number the PDF prints.

    ``attempt`` numbers the builds: a worker may claim the report only for the
    attempt its task names, and only while it is queued; ``heartbeat_at`` is
    the build's last sign of life. ``outcomes.services.reports_recover`` uses
    both to re-queue a build whose worker was lost (see ``ReportRecovery``).
    """

    class Kind(models.TextChoices):
        OPEN = "open", "Open (pooled)"
        CLOSED = "closed", "Closed (by arm)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Generating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    cutoff = models.DateField(verbose_name="Data cut-off")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for reports of the monthly schedule.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="Which build of this report is queued or running."
    )
    queued_at = models.DateTimeField(
        db_default=Now(), help_text="When the current attempt was (last) queued."
    )
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life of the running build (each progress stage).",
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    platform_version = models.CharField(max_length=40, blank=True)
    dataset_sha256 = models.CharField(max_length=64, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_name = models.CharField(max_length=200, blank=True)
    json_name = models.CharField(max_length=200, blank=True)
    pdf_size = models.PositiveIntegerField(default=0)
    participants = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        default_permissions = ()
        permissions = [
            ("request_report", "Can request DSMB reports"),
            ("view_open_report", "Can list and download open (pooled) reports"),
            ("view_closed_report", "Can list and download closed (by arm) reports"),
            ("view_download_log", "Can see who downloaded which report"),
            ("export_analysis_dataset", "Can export the analysis dataset"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["open", "closed"]), name="report_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="report_progress_percent"
            ),
            models.CheckConstraint(
                condition=Q(attempt__gte=1), name="report_attempt_from_one"
            ),
            # One report of a kind and cut-off in the making at a time: a
            # double-clicked request returns the one already queued.
            models.UniqueConstraint(
                fields=["kind", "cutoff"],
                condition=Q(status__in=["queued", "running"]),
                name="one_report_in_progress_per_kind_and_cutoff",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} report, cut-off {self.cutoff}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY


class ReportRecovery(models.Model):
    """What the recovery sweep did to a report, shown on its page.

    *Requeued*: the worker building ``attempt`` fell silent (no heartbeat for
    ``REPORT_RECOVERY["STALE_SECONDS"]``) during ``stage``; attempt + 1 was
    queued. *Gave up*: the same, at the last allowed attempt; the report
    failed. *Resent*: the queued attempt was not claimed by any worker for
    ``REPORT_RECOVERY["UNCLAIMED_SECONDS"]`` (its message lost, or every worker
    down) and was sent again; repeats of this for one attempt are counted in
    ``times`` on one row.
    """

    class Action(models.TextChoices):
        REQUEUED = "requeued", "Worker lost; re-queued"
        GAVE_UP = "gave_up", "Worker lost; gave up"
        RESENT = "resent", "Not picked up; sent again"

    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="recoveries"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(db_default=Now())
    attempt = models.PositiveSmallIntegerField()
    stage = models.CharField(max_length=100, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    times = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["at", "id"]
        default_permissions = ()

    def __str__(self):
        return f"{self.report}: {self.get_action_display()} (attempt {self.attempt})"


class ReportDownload(models.Model):
    """Who downloaded which report file, and when (append-only)."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        JSON = "json", "JSON"

    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="downloads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    format = models.CharField(max_length=4, choices=Format.choices)
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ()

    def __str__(self):
        return f"{self.user} downloaded {self.report} ({self.format}) at {self.at}"
