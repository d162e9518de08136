"""DSMB reports (PROTOCOL §11): each generated report, its release, and each
download of a report or of the analysis dataset."""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from perform.models import audited

# Not only spaces: a release note, withdrawal reason or recommendation says something.
SAYS_SOMETHING = r"\S"


def _stamped_together(at: str, by: str, text: str) -> Q:
    """``at``, ``by`` and ``text`` are all empty, or all set with some text."""
    return Q(**{f"{at}__isnull": True, f"{by}__isnull": True, text: ""}) | Q(
        **{
            f"{at}__isnull": False,
            f"{by}__isnull": False,
            f"{text}__regex": SAYS_SOMETHING,
        }
    )


# Every change is an audit event (who, when, why from ``pghistory.context``)
# except the build's progress and heartbeat, which change every few seconds
# while it runs and say nothing about the report.
@pghistory.track(*audited(), exclude=["progress", "stage", "heartbeat_at"])
class Report(models.Model):
    """One generated (or generating) report: its request, progress, files and
    release.

    The files live in ``settings.REPORTS_ROOT`` under ``pdf_name`` and
    ``json_name``; the JSON holds every number the PDF prints.

    A ready report is a *draft*, seen by statisticians only, until one of them
    releases it (``released_*``, with a note to the DSMB); only then do DSMB
    members (and, for open reports, data managers) see it and may download it.
    A released report may be *withdrawn* (``withdrawn_*``, with the reason): it
    stays listed, marked, and is no longer downloadable. After the DSMB meets,
    the statistician records its recommendation on the released report
    (``dsmb_recommendation``), which later reports list with the earlier looks.
    Writes: ``outcomes.release``.

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
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    release_note = models.TextField(
        blank=True, help_text="The statistician's note to the DSMB on release."
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawal_reason = models.TextField(blank=True)
    dsmb_recommendation = models.TextField(
        blank=True, help_text="What the DSMB recommended after reviewing this report."
    )
    recommendation_recorded_at = models.DateTimeField(null=True, blank=True)
    recommendation_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        default_permissions = ()
        permissions = [
            ("request_report", "Can request DSMB reports"),
            ("view_open_report", "Can list and download open (pooled) reports"),
            ("view_closed_report", "Can list and download closed (by arm) reports"),
            ("view_download_log", "Can see who downloaded which report or dataset"),
            ("export_analysis_dataset", "Can export the analysis dataset"),
            (
                "view_monitoring",
                "Can see the central statistical monitoring of every site",
            ),
            (
                "release_report",
                "Can see draft reports, release and withdraw them, and record "
                "the DSMB's recommendation",
            ),
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
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(status="ready"),
                name="report_released_only_when_ready",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(released_at__isnull=False),
                name="report_withdrawn_only_if_released",
            ),
            models.CheckConstraint(
                condition=Q(recommendation_recorded_at__isnull=True)
                | Q(released_at__isnull=False),
                name="report_recommendation_only_if_released",
            ),
            models.CheckConstraint(
                condition=_stamped_together(
                    "released_at", "released_by", "release_note"
                ),
                name="report_release_with_who_and_note",
            ),
            models.CheckConstraint(
                condition=_stamped_together(
                    "withdrawn_at", "withdrawn_by", "withdrawal_reason"
                ),
                name="report_withdrawal_with_who_and_reason",
            ),
            models.CheckConstraint(
                condition=_stamped_together(
                    "recommendation_recorded_at",
                    "recommendation_recorded_by",
                    "dsmb_recommendation",
                ),
                name="report_recommendation_with_who_and_text",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} report, cut-off {self.cutoff}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_draft(self) -> bool:
        """Ready, and not released yet: seen by statisticians only."""
        return self.is_ready and self.released_at is None

    @property
    def is_released(self) -> bool:
        """Released and not withdrawn: the DSMB may download it."""
        return self.released_at is not None and self.withdrawn_at is None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


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
    """Who downloaded which file, and when (append-only:
    ``settings.AUDIT_LOG_MODELS``): a report's PDF or JSON (``report``), the
    analysis dataset as of a cut-off (``cutoff``) or its data dictionary.
    ``sha256`` is the digest of the bytes served."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        JSON = "json", "JSON"
        DATASET = "dataset", "Analysis dataset (CSV)"
        DICTIONARY = "dictionary", "Data dictionary (CSV)"

    report = models.ForeignKey(
        Report,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="downloads",
        help_text="The report whose file was downloaded (empty for the dataset).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    format = models.CharField(max_length=10, choices=Format.choices)
    cutoff = models.DateField(
        null=True,
        blank=True,
        verbose_name="Data cut-off",
        help_text="Of the analysis dataset downloaded.",
    )
    sha256 = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ()
        constraints = [
            # Each row names what it served, and only that.
            models.CheckConstraint(
                condition=Q(
                    format__in=["pdf", "json"],
                    report__isnull=False,
                    cutoff__isnull=True,
                )
                | Q(format="dataset", report__isnull=True, cutoff__isnull=False)
                | Q(format="dictionary", report__isnull=True, cutoff__isnull=True),
                name="download_names_the_file_served",
            ),
        ]

    def __str__(self):
        what = self.report or (
            f"analysis dataset, cut-off {self.cutoff}"
            if self.cutoff
            else "data dictionary"
        )
        return f"{self.user} downloaded {what} ({self.format}) at {self.at}"


# The export wizard's tables (PROTOCOL §14), kept with their domain.
from outcomes.data_export.models import DataExport, DataExportDownload  # noqa: E402

__all__ = [
    "DataExport",
    "DataExportDownload",
    "Report",
    "ReportDownload",
    "ReportRecovery",
]
