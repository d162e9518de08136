"""What every case report form has: its participant, state, signature and lock."""

from django.conf import settings
from django.db import models


class FormStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETE = "complete", "Complete"
    SIGNED = "signed", "Signed"


class MissingCode(models.TextChoices):
    """Why a value is missing (PROTOCOL §7): stored in ``CrfForm.missing_codes``
    instead of the value, so "not asked" (blank) and "asked, no answer and
    why" stay apart."""

    NA = "NA", "Not applicable"
    UNK = "UNK", "Unknown"
    ND = "ND", "Not done"
    ILL = "ILL", "Participant too ill"
    DEC = "DEC", "Declined"
    DIED = "DIED", "Participant died"


# Statuses of a form that counts as entered (done), whatever its signature.
COMPLETE_STATUSES = (FormStatus.COMPLETE, FormStatus.SIGNED)


class CrfForm(models.Model):
    """Abstract base of every CRF.

    ``version`` increases with every save: a save based on an older version is
    refused (two people editing one form never overwrite each other silently).
    """

    # Fields a complete form must have (conditional ones are checked in clean()).
    required_when_complete: tuple[str, ...] = ()

    participant = models.ForeignKey(
        "perform.Participant", on_delete=models.PROTECT, related_name="%(class)s_forms"
    )
    status = models.CharField(
        max_length=10, choices=FormStatus.choices, default=FormStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    locked = models.BooleanField(default=False)
    # Field name → ``MissingCode`` for the fields left without a value with a
    # reason (``crf.forms.missing_data.missing_code_errors`` validates it).
    missing_codes = models.JSONField(default=dict, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True

    @property
    def is_complete(self) -> bool:
        return self.status in COMPLETE_STATUSES


class CrfAccess(models.Model):
    """Holds the CRF permissions (no table)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_forms", "Can see case report forms"),
            ("enter_forms", "Can enter and edit case report forms"),
            ("sign_forms", "Can sign off forms (investigator e-signature)"),
            ("lock_forms", "Can lock and unlock forms"),
            ("raise_queries", "Can raise, close and re-open data queries"),
        ]

    def __str__(self):
        return "CRF permissions"
