"""Allocation lists, their strata and slots (PROTOCOL §5).

An allocation list holds, for every stratum, the concealed sequence of arms in
permuted blocks. A slot becomes an *allocation* when a participant takes it.
Unused slots, block numbers and block sizes are seen only by statisticians
(``randomization.selectors`` is the only reader, and checks the role).

Invariants kept by the database: one active list at a time; one slot per
(stratum, sequence); a participant holds at most one slot; a used slot records
when and by whom it was used.
"""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q

from perform.models import Participant, Site, audited


@pghistory.track(*audited())
class AllocationList(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    class Source(models.TextChoices):
        GENERATED = "generated", "Generated in the platform"
        IMPORTED = "imported", "Imported from CSV"

    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    # Parameters the list was made with; all of them enter the digest.
    arms = models.JSONField(help_text='[["IF", "Internal fixation"], ...]')
    ratio = models.JSONField(help_text="Allocation ratio, e.g. [1, 1].")
    block_sizes = models.JSONField(help_text="Permitted block sizes, e.g. [2, 4, 6].")
    factors = models.JSONField(help_text='Stratification factors, e.g. ["site", ...].')
    slots_per_stratum = models.PositiveIntegerField()
    seed = models.BigIntegerField(
        null=True, blank=True, help_text="Generator seed (empty for an imported list)."
    )
    digest = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 recorded at activation."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="one_active_allocation_list",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | ~Q(digest=""),
                name="activated_list_has_digest",
            ),
        ]
        permissions = [
            ("manage_lists", "Can generate, import, verify and activate lists"),
            ("randomize_participant", "Can randomize participants"),
            ("view_allocation", "Can see a participant's allocation once made"),
            ("view_randomization_log", "Can see the randomization log"),
            ("view_log_arms", "Can see the arms in the randomization log"),
            ("view_balance", "Can see per-stratum balance"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display().lower()})"

    @property
    def arm_codes(self) -> list[str]:
        return [code for code, _label in self.arms]

    def arm_label(self, code: str) -> str:
        return dict(self.arms).get(code, code)


@pghistory.track(*audited())
class Stratum(models.Model):
    """One combination of stratification levels, e.g. ``TOR|impending``."""

    allocation_list = models.ForeignKey(
        AllocationList, on_delete=models.PROTECT, related_name="strata"
    )
    key = models.CharField(max_length=100)
    levels = models.JSONField(help_text='{"site": "TOR", "fracture_status": ...}')
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["allocation_list", "key"]
        verbose_name_plural = "strata"
        constraints = [
            models.UniqueConstraint(
                fields=["allocation_list", "key"], name="stratum_key_unique_per_list"
            )
        ]

    def __str__(self):
        return self.key


@pghistory.track(*audited())
class Slot(models.Model):
    """One position in a stratum's sequence; an allocation once a participant
    holds it."""

    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="slots")
    sequence = models.PositiveIntegerField()
    arm = models.CharField(max_length=20)
    block_number = models.PositiveIntegerField()
    block_size = models.PositiveSmallIntegerField()
    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocation",
    )
    allocated_at = models.DateTimeField(null=True, blank=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["stratum", "sequence"], name="slot_sequence_unique_per_stratum"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="slot_sequence_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(participant__isnull=True, allocated_at__isnull=True)
                    | Q(participant__isnull=False, allocated_at__isnull=False)
                ),
                name="used_slot_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["stratum", "sequence"],
                condition=Q(participant__isnull=True),
                name="slot_unused_by_sequence",
            )
        ]

    def __str__(self):
        return f"{self.stratum.key} #{self.sequence}"


@pghistory.track(*audited())
class ListEvent(models.Model):
    """What happened to a list: generated, imported, activated, verified, extended."""

    class Action(models.TextChoices):
        GENERATED = "generated", "Generated"
        IMPORTED = "imported", "Imported"
        ACTIVATED = "activated", "Activated"
        VERIFIED = "verified", "Verified"
        EXTENDED = "extended", "Extended"
        EXHAUSTED = "exhausted", "Stratum exhausted"

    allocation_list = models.ForeignKey(
        AllocationList, on_delete=models.PROTECT, related_name="list_events"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    digest = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["allocation_list", "at", "id"]

    def __str__(self):
        return f"{self.allocation_list}: {self.get_action_display()} {self.at:%Y-%m-%d}"
