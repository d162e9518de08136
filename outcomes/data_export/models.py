"""Data exports (PROTOCOL §14): each request of the export wizard, its build
and its stored zip, and each download of it.

Imported by ``outcomes.models`` so Django registers them in the outcomes app.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class DataExport(models.Model):
    """One requested export: the choices, the build's progress and the zip.

    The choices are stored as given (JSON lists; ``None`` for "all" where the
    wizard allows it) and re-read by the worker, so the export is built as
    requested whenever the worker runs. The zip is kept in the database
    (``content``), never under static or media: it leaves the platform only
    through the download view, which checks who asks and logs the download.

    ``status``: queued → running (claimed by one worker, ``services``) → done,
    or failed with ``error``. A done export is never rebuilt.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(db_default=Now())
    forms = models.JSONField(help_text="Registry keys of the chosen forms.")
    fields = models.JSONField(
        null=True, blank=True, help_text="Chosen field names; empty for all."
    )
    sites = models.JSONField(
        null=True, blank=True, help_text="Chosen site codes; empty for all in scope."
    )
    visits = models.JSONField(
        null=True, blank=True, help_text="Chosen visit codes; empty for all."
    )
    cutoff = models.DateField(null=True, blank=True, verbose_name="Data cut-off")
    formats = models.JSONField(help_text="Keys of outcomes.exports.EXPORT_WRITERS.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last progress update of the build."
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    platform_version = models.CharField(max_length=40, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        default_permissions = ()
        permissions = [
            ("export_data", "Can export the case report form data (export wizard)")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="data_export_status_known",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="data_export_progress_percent"
            ),
            # A ready export has its zip and the digest of it; no other has.
            models.CheckConstraint(
                condition=Q(
                    status="done",
                    content__isnull=False,
                    sha256__regex=r"^[0-9a-f]{64}$",
                )
                | (~Q(status="done") & Q(content__isnull=True, sha256="")),
                name="data_export_content_when_done",
            ),
        ]

    def __str__(self):
        return f"Data export {self.pk} ({', '.join(self.formats)})"

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def file_name(self) -> str:
        return f"perform-export-{self.pk}.zip"


class DataExportDownload(models.Model):
    """Who downloaded which export, and when; ``sha256`` of the bytes served
    (append-only: ``settings.AUDIT_LOG_MODELS``)."""

    export = models.ForeignKey(
        DataExport, on_delete=models.PROTECT, related_name="downloads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(db_default=Now())
    sha256 = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ()

    def __str__(self):
        return f"{self.user} downloaded {self.export} at {self.at}"
