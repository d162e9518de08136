"""DSMB reports (PROTOCOL §11): each generated report, and each download."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Report(models.Model):
    """One generated (or generating) report: its request, progress and files.

    The files live in ``settings.REPORTS_ROOT`` under ``pdf_name`` and
    ``json_name``; the JSON holds every number the PDF prints.
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
