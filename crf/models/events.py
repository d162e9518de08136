"""Event forms (PROTOCOL §7.7–7.12): adverse events, reoperations, local
recurrence, death, withdrawal and protocol deviations."""

import pghistory
from django.db import models

from crf.models.base import CrfForm
from perform.models import audited


class ClavienDindo(models.TextChoices):
    I = "I", "I"  # noqa: E741 - the grade's name
    II = "II", "II"
    IIIA = "IIIa", "IIIa"
    IIIB = "IIIb", "IIIb"
    IVA = "IVa", "IVa"
    IVB = "IVb", "IVb"
    V = "V", "V (death)"


# Clavien-Dindo grades counted as severe complications (PROTOCOL §10).
SEVERE_CLAVIEN_DINDO = {
    ClavienDindo.IIIB,
    ClavienDindo.IVA,
    ClavienDindo.IVB,
    ClavienDindo.V,
}


class BodySystem(models.TextChoices):
    """MedDRA system organ classes most relevant to the trial (short list)."""

    MUSCULOSKELETAL = "musculoskeletal", "Musculoskeletal and connective tissue"
    INFECTIONS = "infections", "Infections and infestations"
    INJURY = "injury", "Injury and procedural complications"
    VASCULAR = "vascular", "Vascular (incl. thromboembolism)"
    CARDIAC = "cardiac", "Cardiac"
    RESPIRATORY = "respiratory", "Respiratory, thoracic and mediastinal"
    GASTROINTESTINAL = "gastrointestinal", "Gastrointestinal"
    RENAL = "renal", "Renal and urinary"
    NERVOUS = "nervous", "Nervous system"
    BLOOD = "blood", "Blood and lymphatic system"
    METABOLISM = "metabolism", "Metabolism and nutrition"
    SKIN = "skin", "Skin and subcutaneous tissue"
    PSYCHIATRIC = "psychiatric", "Psychiatric"
    NEOPLASMS = "neoplasms", "Neoplasms (incl. progression)"
    GENERAL = "general", "General disorders"
    OTHER = "other", "Other"


@pghistory.track(*audited())
class AdverseEvent(CrfForm):
    class Relatedness(models.TextChoices):
        NOT_RELATED = "not_related", "Not related"
        UNLIKELY = "unlikely", "Unlikely"
        POSSIBLE = "possible", "Possibly"
        PROBABLE = "probable", "Probably"
        DEFINITE = "definite", "Definitely"

    class Outcome(models.TextChoices):
        RECOVERED = "recovered", "Recovered / resolved"
        RECOVERING = "recovering", "Recovering"
        NOT_RECOVERED = "not_recovered", "Not recovered"
        SEQUELAE = "sequelae", "Recovered with sequelae"
        FATAL = "fatal", "Fatal"
        UNKNOWN = "unknown", "Unknown"

    required_when_complete = (
        "term",
        "body_system",
        "onset_date",
        "awareness_date",
        "clavien_dindo",
        "serious",
        "relatedness",
        "expected",
        "outcome",
    )

    term = models.CharField(max_length=200, blank=True)
    body_system = models.CharField(
        max_length=20, choices=BodySystem.choices, blank=True
    )
    onset_date = models.DateField(null=True, blank=True)
    awareness_date = models.DateField(
        null=True, blank=True, help_text="When the site learnt of the event."
    )
    clavien_dindo = models.CharField(
        max_length=4, choices=ClavienDindo.choices, blank=True
    )
    serious = models.BooleanField(null=True, blank=True)
    sae_death = models.BooleanField(default=False, verbose_name="Resulted in death")
    sae_life_threatening = models.BooleanField(
        default=False, verbose_name="Life-threatening"
    )
    sae_hospitalization = models.BooleanField(
        default=False, verbose_name="Hospitalization or its prolongation"
    )
    sae_disability = models.BooleanField(default=False, verbose_name="Disability")
    sae_other_important = models.BooleanField(
        default=False, verbose_name="Other important medical event"
    )
    relatedness = models.CharField(
        max_length=12,
        choices=Relatedness.choices,
        blank=True,
        verbose_name="Related to the surgery or implant",
    )
    expected = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, blank=True)
    resolution_date = models.DateField(null=True, blank=True)

    def __str__(self):
        return f"AE {self.term or '(draft)'}"

    @property
    def serious_criteria(self) -> list[str]:
        return [
            self._meta.get_field(name).verbose_name
            for name in (
                "sae_death",
                "sae_life_threatening",
                "sae_hospitalization",
                "sae_disability",
                "sae_other_important",
            )
            if getattr(self, name)
        ]


@pghistory.track(*audited())
class Reoperation(CrfForm):
    class Reason(models.TextChoices):
        INFECTION = "infection", "Infection"
        BREAKAGE = "breakage", "Implant breakage"
        LOOSENING = "loosening", "Aseptic loosening"
        PERIPROSTHETIC = "periprosthetic", "Periprosthetic fracture"
        DISLOCATION = "dislocation", "Dislocation"
        NONUNION = "nonunion", "Nonunion"
        PROGRESSION = "progression", "Local progression"
        SOFT_TISSUE = "soft_tissue", "Soft-tissue failure"
        OTHER = "other", "Other"

    required_when_complete = ("reoperation_date", "reason", "procedure")

    reoperation_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=15, choices=Reason.choices, blank=True)
    reason_other = models.CharField(max_length=200, blank=True)
    procedure = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Reoperation {self.reoperation_date}"


@pghistory.track(*audited())
class LocalRecurrence(CrfForm):
    class Detection(models.TextChoices):
        RADIOGRAPH = "radiograph", "Radiograph"
        CT = "ct", "CT"
        MRI = "mri", "MRI"
        PET = "pet", "PET"
        CLINICAL = "clinical", "Clinical examination"
        OTHER = "other", "Other"

    required_when_complete = ("recurrence_date", "detected_by")

    recurrence_date = models.DateField(null=True, blank=True)
    detected_by = models.CharField(max_length=10, choices=Detection.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_local_recurrence")
        ]

    def __str__(self):
        return f"Local recurrence {self.recurrence_date}"


@pghistory.track(*audited())
class Death(CrfForm):
    class Cause(models.TextChoices):
        PROGRESSION = "progression", "Cancer progression"
        SURGICAL = "surgical", "Surgical complication"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    required_when_complete = ("death_date", "primary_cause")

    death_date = models.DateField(null=True, blank=True)
    primary_cause = models.CharField(max_length=12, choices=Cause.choices, blank=True)
    cause_detail = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_death")
        ]

    def __str__(self):
        return f"Death {self.death_date}"


@pghistory.track(*audited())
class Withdrawal(CrfForm):
    class Kind(models.TextChoices):
        WITHDRAWN = "withdrawn", "Withdrew consent"
        LOST = "lost_to_follow_up", "Lost to follow-up"

    required_when_complete = ("kind", "withdrawal_date", "reason", "data_use_permitted")

    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    withdrawal_date = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True)
    data_use_permitted = models.BooleanField(
        null=True, blank=True, verbose_name="Collected data may be used"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_withdrawal")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.withdrawal_date}"


@pghistory.track(*audited())
class ProtocolDeviation(CrfForm):
    class Category(models.TextChoices):
        ELIGIBILITY = "eligibility", "Eligibility"
        CONSENT = "consent", "Consent"
        RANDOMIZATION = "randomization", "Randomization"
        TREATMENT = "treatment", "Treatment / crossover"
        VISIT = "visit", "Visit out of window"
        DATA = "data", "Data collection"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MAJOR = "major", "Major"
        MINOR = "minor", "Minor"

    required_when_complete = ("deviation_date", "category", "description", "severity")

    deviation_date = models.DateField(null=True, blank=True)
    category = models.CharField(max_length=15, choices=Category.choices, blank=True)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=5, choices=Severity.choices, blank=True)

    def __str__(self):
        return f"Deviation {self.deviation_date} ({self.severity})"
