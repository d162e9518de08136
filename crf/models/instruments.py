"""PROTOCOL §8 instruments as abstract field groups, with their stored scores.

Items are nullable (not answered / not applicable); scores are computed by
``crf.forms.scoring`` when the form is saved (``instrument_scores_update``).
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from crf.forms import scoring


def item(low: int, high: int, **kwargs):
    return models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        **kwargs,
    )


class Msts(models.Model):
    msts_pain = item(0, 5, verbose_name="MSTS pain")
    msts_function = item(0, 5, verbose_name="MSTS function")
    msts_emotional_acceptance = item(0, 5, verbose_name="MSTS emotional acceptance")
    msts_supports = item(0, 5, verbose_name="MSTS supports")
    msts_walking = item(0, 5, verbose_name="MSTS walking")
    msts_gait = item(0, 5, verbose_name="MSTS gait")
    msts_total = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    msts_percent = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, editable=False
    )

    class Meta:
        abstract = True

    def msts_items(self) -> dict:
        return {name: getattr(self, f"msts_{name}") for name in scoring.MSTS_ITEMS}


def _tess_fields():
    return {
        f"tess_{n}": item(1, 5, verbose_name=f"TESS item {n}")
        for n in range(1, scoring.TESS_ITEM_COUNT + 1)
    }


Tess = type(
    "Tess",
    (models.Model,),
    {
        "__module__": __name__,
        "__doc__": "TESS lower extremity: 30 items by number (wording is licensed); "
        "empty = not applicable.",
        "Meta": type("Meta", (), {"abstract": True}),
        "tess_score": models.DecimalField(
            max_digits=4, decimal_places=1, null=True, blank=True, editable=False
        ),
        "tess_items": lambda self: [
            getattr(self, f"tess_{n}") for n in range(1, scoring.TESS_ITEM_COUNT + 1)
        ],
        **_tess_fields(),
    },
)


class Eq5d(models.Model):
    eq5d_mobility = item(1, 5, verbose_name="EQ-5D mobility")
    eq5d_self_care = item(1, 5, verbose_name="EQ-5D self-care")
    eq5d_usual_activities = item(1, 5, verbose_name="EQ-5D usual activities")
    eq5d_pain_discomfort = item(1, 5, verbose_name="EQ-5D pain/discomfort")
    eq5d_anxiety_depression = item(1, 5, verbose_name="EQ-5D anxiety/depression")
    eq5d_vas = item(0, 100, verbose_name="EQ VAS")
    eq5d_profile = models.CharField(max_length=5, blank=True, editable=False)

    class Meta:
        abstract = True

    def eq5d_levels(self) -> dict:
        return {name: getattr(self, f"eq5d_{name}") for name in scoring.EQ5D_DIMENSIONS}


class Bpi(models.Model):
    bpi_worst = item(0, 10, verbose_name="BPI worst pain")
    bpi_least = item(0, 10, verbose_name="BPI least pain")
    bpi_average = item(0, 10, verbose_name="BPI average pain")
    bpi_now = item(0, 10, verbose_name="BPI pain now")
    bpi_general_activity = item(
        0, 10, verbose_name="BPI interference: general activity"
    )
    bpi_mood = item(0, 10, verbose_name="BPI interference: mood")
    bpi_walking_ability = item(0, 10, verbose_name="BPI interference: walking ability")
    bpi_normal_work = item(0, 10, verbose_name="BPI interference: normal work")
    bpi_relations = item(0, 10, verbose_name="BPI interference: relations")
    bpi_sleep = item(0, 10, verbose_name="BPI interference: sleep")
    bpi_enjoyment = item(0, 10, verbose_name="BPI interference: enjoyment of life")
    bpi_interference = models.DecimalField(
        max_digits=4, decimal_places=2, null=True, blank=True, editable=False
    )

    class Meta:
        abstract = True

    def bpi_interference_items(self) -> dict:
        return {n: getattr(self, f"bpi_{n}") for n in scoring.BPI_INTERFERENCE_ITEMS}


def instrument_scores_update(form) -> None:
    """Recompute every stored score the form's instruments have."""
    if hasattr(form, "mirels_total"):
        mirels = scoring.mirels_score(
            {name: getattr(form, f"mirels_{name}") for name in scoring.MIRELS_ITEMS}
        )
        form.mirels_total = mirels.total if mirels else None
    if isinstance(form, Msts):
        msts = scoring.msts_score(form.msts_items())
        form.msts_total = msts.total if msts else None
        form.msts_percent = msts.percent if msts else None
    if isinstance(form, Tess):
        form.tess_score = scoring.tess_score(form.tess_items())
    if isinstance(form, Eq5d):
        form.eq5d_profile = scoring.eq5d_profile(form.eq5d_levels()) or ""
    if isinstance(form, Bpi):
        form.bpi_interference = scoring.bpi_interference(form.bpi_interference_items())
