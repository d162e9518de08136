"""Baseline, operative, discharge and follow-up forms (PROTOCOL §7.3–7.6)."""

import pghistory
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from crf.models.base import CrfForm
from crf.models.instruments import Bpi, Eq5d, Msts, Tess, item
from perform.models import FractureStatus, audited


def whole(low: int, high: int, **kwargs):
    return models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        **kwargs,
    )


INSTRUMENT_FIELDS_REQUIRED = (
    "msts_pain",
    "msts_function",
    "msts_emotional_acceptance",
    "msts_supports",
    "msts_walking",
    "msts_gait",
    "eq5d_mobility",
    "eq5d_self_care",
    "eq5d_usual_activities",
    "eq5d_pain_discomfort",
    "eq5d_anxiety_depression",
    "eq5d_vas",
    "bpi_worst",
    "bpi_least",
    "bpi_average",
    "bpi_now",
)


@pghistory.track(*audited())
class Baseline(CrfForm, Msts, Tess, Eq5d, Bpi):
    class PrimaryCancer(models.TextChoices):
        BREAST = "breast", "Breast"
        LUNG = "lung", "Lung"
        PROSTATE = "prostate", "Prostate"
        KIDNEY = "kidney", "Kidney"
        MYELOMA = "myeloma", "Myeloma"
        THYROID = "thyroid", "Thyroid"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown primary"

    class LesionRegion(models.TextChoices):
        HEAD_NECK = "head_neck", "Femoral head / neck"
        INTERTROCHANTERIC = "intertrochanteric", "Intertrochanteric"
        SUBTROCHANTERIC = "subtrochanteric", "Subtrochanteric"

    class BoneMetastases(models.TextChoices):
        ONE = "1", "1"
        TWO_TO_FOUR = "2-4", "2–4"
        FIVE_OR_MORE = "5+", "5 or more"

    required_when_complete = (
        "assessment_date",
        "primary_cancer",
        "lesion_region",
        "fracture_status",
        "mirels_site",
        "mirels_pain",
        "mirels_lesion",
        "mirels_size",
        "bone_loss_percent",
        "visceral_metastases",
        "bone_metastases",
        "haemoglobin_g_l",
        "ecog",
        "asa",
        "expected_survival_months",
        *INSTRUMENT_FIELDS_REQUIRED,
    )

    assessment_date = models.DateField(null=True, blank=True)
    # A partial date, stored exactly as entered (PROTOCOL §7):
    # ``crf.forms.missing_data.partial_date_error`` checks it.
    primary_cancer_diagnosis = models.CharField(
        max_length=10,
        blank=True,
        verbose_name="Date of primary cancer diagnosis",
        help_text="YYYY, YYYY-MM or YYYY-MM-DD: give what is known.",
    )
    primary_cancer = models.CharField(
        max_length=10, choices=PrimaryCancer.choices, blank=True
    )
    primary_cancer_other = models.CharField(max_length=200, blank=True)
    lesion_region = models.CharField(
        max_length=20, choices=LesionRegion.choices, blank=True
    )
    fracture_status = models.CharField(
        max_length=10, choices=FractureStatus.choices, blank=True
    )
    mirels_site = item(1, 3, verbose_name="Mirels: site")
    mirels_pain = item(1, 3, verbose_name="Mirels: pain")
    mirels_lesion = item(1, 3, verbose_name="Mirels: lesion type")
    mirels_size = item(1, 3, verbose_name="Mirels: size")
    mirels_total = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False
    )
    bone_loss_percent = whole(0, 100, verbose_name="Cortical bone loss (%)")
    visceral_metastases = models.BooleanField(null=True, blank=True)
    bone_metastases = models.CharField(
        max_length=3,
        choices=BoneMetastases.choices,
        blank=True,
        verbose_name="Number of bone metastases",
    )
    haemoglobin_g_l = whole(40, 200, verbose_name="Haemoglobin (g/L)")
    ecog = item(0, 4, verbose_name="ECOG performance status")
    asa = item(1, 5, verbose_name="ASA class")
    expected_survival_months = whole(
        0, 240, verbose_name="Surgeon's expected survival (months)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_baseline")
        ]

    def __str__(self):
        return f"Baseline {self.participant_id}"


@pghistory.track(*audited())
class Operative(CrfForm):
    class Procedure(models.TextChoices):
        IF = "IF", "Internal fixation"
        RER = "RER", "Resection with endoprosthetic reconstruction"
        OTHER = "other", "Other"

    required_when_complete = (
        "surgery_date",
        "procedure",
        "implant",
        "duration_min",
        "blood_loss_ml",
        "transfusion_units",
    )

    surgery_date = models.DateField(null=True, blank=True)
    procedure = models.CharField(max_length=5, choices=Procedure.choices, blank=True)
    procedure_other = models.CharField(max_length=200, blank=True)
    implant = models.CharField(max_length=200, blank=True)
    duration_min = whole(15, 900, verbose_name="Duration (min)")
    blood_loss_ml = whole(0, 10000, verbose_name="Blood loss (mL)")
    transfusion_units = whole(0, 50, verbose_name="Transfusion (units)")
    intraoperative_complications = models.TextField(
        blank=True, help_text="Leave empty if none."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_operative")
        ]

    def __str__(self):
        return f"Operative {self.participant_id}"


@pghistory.track(*audited())
class Discharge(CrfForm):
    class Destination(models.TextChoices):
        HOME = "home", "Home"
        REHABILITATION = "rehabilitation", "Rehabilitation unit"
        NURSING_HOME = "nursing_home", "Nursing home"
        HOSPICE = "hospice", "Hospice"
        DIED = "died", "Died in hospital"
        OTHER = "other", "Other"

    required_when_complete = ("discharge_date", "destination")

    discharge_date = models.DateField(null=True, blank=True)
    destination = models.CharField(
        max_length=15, choices=Destination.choices, blank=True
    )
    in_hospital_complications = models.TextField(
        blank=True, help_text="Leave empty if none."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant"], name="one_discharge")
        ]

    def __str__(self):
        return f"Discharge {self.participant_id}"


@pghistory.track(*audited())
class FollowUp(CrfForm, Msts, Tess, Eq5d, Bpi):
    """One per visit of PROTOCOL §6: either a visit date or a missed reason."""

    class VitalStatus(models.TextChoices):
        ALIVE = "alive", "Alive"
        DEAD = "dead", "Dead"

    class Ambulatory(models.TextChoices):
        INDEPENDENT = "independent", "Walks independently"
        AID = "aid", "Walks with an aid"
        WHEELCHAIR = "wheelchair", "Wheelchair"
        BEDRIDDEN = "bedridden", "Bedridden"

    required_when_complete = ("vital_status",)

    visit = models.CharField(max_length=5)
    visit_date = models.DateField(null=True, blank=True)
    missed_reason = models.TextField(blank=True)
    vital_status = models.CharField(
        max_length=5, choices=VitalStatus.choices, blank=True
    )
    ambulatory_status = models.CharField(
        max_length=12, choices=Ambulatory.choices, blank=True
    )
    implant_failure = models.BooleanField(
        null=True, blank=True, verbose_name="Radiographic implant failure"
    )
    local_progression = models.BooleanField(null=True, blank=True)
    adjuvant_radiotherapy = models.BooleanField(null=True, blank=True)
    systemic_therapy = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit"], name="one_follow_up_per_visit"
            ),
            models.CheckConstraint(
                condition=Q(visit_date__isnull=True) | Q(missed_reason=""),
                name="follow_up_done_or_missed_not_both",
            ),
        ]

    def __str__(self):
        return f"Follow-up {self.visit} {self.participant_id}"
