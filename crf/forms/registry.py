"""The CRFs of PROTOCOL §7 as data: their URL key, model, label, whether one
per participant, one per visit or repeatable, how their fields group on the
page, and from which point of the participant's lifecycle they may be entered
(``entered_from``, decided by ``crf.forms.rules.form_allowed_for``). Views, the API
and the dashboards iterate over ``FORMS``.

Each form also declares its branching logic (``branching``: field →
``ShownWhen``, applied in the browser and enforced by the service,
``crf.forms.branching``) and which fields may hold a missing-data code
(``codable_fields``, ``crf.forms.missing_data``): by default every data field
that can be left empty, except the ones the form names in ``never_coded``.
Those must never be missing, because the trial cannot do without them:

* the date that places the form in time (assessment, surgery, discharge,
  visit, onset and awareness, reoperation, recurrence, death, withdrawal,
  deviation): the date rules, the visit schedule, the SAE reporting clock and
  the endpoints are computed from it;
* the follow-up's missed reason (it *is* the reason a visit has no data) and
  vital status (a death must be known: PROTOCOL §7's automatic query);
* the baseline's fracture status (the stratification factor, checked against
  screening), the procedure performed (treatment received, for crossover);
* an adverse event's term and seriousness (PROTOCOL §9's expedited
  reporting);
* withdrawal kind and whether the data may be used (decides the dataset);
* every field of a protocol deviation (the Methods Centre's own record).
"""

from dataclasses import dataclass, field

from django.urls import reverse

from crf.forms import scoring
from crf.forms.branching import ShownWhen
from crf.forms.missing_data import may_be_coded
from crf.models import (
    AdverseEvent,
    Baseline,
    CrfForm,
    Death,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)

SINGLE, PER_VISIT, REPEATABLE = "single", "per_visit", "repeatable"
# The lifecycle point from which a form may be entered (``FormSpec.entered_from``).
FROM_SCREENING, FROM_CONSENT, FROM_RANDOMIZATION = (
    "screening",
    "consent",
    "randomization",
)

MSTS = ("MSTS 1993 (lower extremity)", [f"msts_{n}" for n in scoring.MSTS_ITEMS])
TESS = (
    "TESS (lower extremity): leave empty if not applicable",
    [f"tess_{n}" for n in range(1, scoring.TESS_ITEM_COUNT + 1)],
)
EQ5D = (
    "EQ-5D-5L",
    [f"eq5d_{n}" for n in scoring.EQ5D_DIMENSIONS] + ["eq5d_vas"],
)
BPI = (
    "Brief Pain Inventory",
    [f"bpi_{n}" for n in scoring.BPI_SEVERITY_ITEMS + scoring.BPI_INTERFERENCE_ITEMS],
)


@dataclass(frozen=True)
class FormSpec:
    key: str
    model: type[CrfForm]
    label: str
    kind: str
    fieldsets: tuple[tuple[str, list[str]], ...]
    # Clinical forms (operative onwards) by default: PROTOCOL §7.
    entered_from: str = FROM_RANDOMIZATION
    # Field → the condition under which it is shown (``crf.forms.branching``).
    branching: dict[str, ShownWhen] = field(default_factory=dict)
    # Fields that may never hold a missing-data code (see the module docstring).
    never_coded: tuple[str, ...] = ()

    @property
    def fields(self) -> list[str]:
        return [name for _legend, names in self.fieldsets for name in names]

    @property
    def codable_fields(self) -> list[str]:
        """Fields that may hold a missing-data code instead of a value."""
        return [
            name
            for name in self.fields
            if name not in self.never_coded and may_be_coded(self.model, name)
        ]


def _when_other(name: str) -> ShownWhen:
    """Shown when ``name`` is "other" (every "other" free text)."""
    return ShownWhen(name, ("other",))


SAE_CRITERIA = (
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalization",
    "sae_disability",
    "sae_other_important",
)


FORMS: dict[str, FormSpec] = {
    spec.key: spec
    for spec in [
        FormSpec(
            "baseline",
            Baseline,
            "Baseline",
            SINGLE,
            (
                (
                    "Disease",
                    [
                        "assessment_date",
                        "primary_cancer_diagnosis",
                        "primary_cancer",
                        "primary_cancer_other",
                        "lesion_region",
                        "fracture_status",
                    ],
                ),
                (
                    "Mirels score",
                    ["mirels_site", "mirels_pain", "mirels_lesion", "mirels_size"],
                ),
                (
                    "Clinical status",
                    [
                        "bone_loss_percent",
                        "visceral_metastases",
                        "bone_metastases",
                        "haemoglobin_g_l",
                        "ecog",
                        "asa",
                        "expected_survival_months",
                    ],
                ),
                MSTS,
                TESS,
                EQ5D,
                BPI,
            ),
            entered_from=FROM_SCREENING,
            branching={"primary_cancer_other": _when_other("primary_cancer")},
            never_coded=("assessment_date", "fracture_status"),
        ),
        FormSpec(
            "operative",
            Operative,
            "Operative",
            SINGLE,
            (
                (
                    "Surgery",
                    [
                        "surgery_date",
                        "procedure",
                        "procedure_other",
                        "implant",
                        "duration_min",
                        "blood_loss_ml",
                        "transfusion_units",
                        "intraoperative_complications",
                    ],
                ),
            ),
            branching={"procedure_other": _when_other("procedure")},
            never_coded=("surgery_date", "procedure"),
        ),
        FormSpec(
            "discharge",
            Discharge,
            "Discharge",
            SINGLE,
            (
                (
                    "Discharge",
                    ["discharge_date", "destination", "in_hospital_complications"],
                ),
            ),
            never_coded=("discharge_date",),
        ),
        FormSpec(
            "follow-up",
            FollowUp,
            "Follow-up visit",
            PER_VISIT,
            (
                (
                    "Visit",
                    [
                        "visit_date",
                        "missed_reason",
                        "vital_status",
                        "ambulatory_status",
                    ],
                ),
                (
                    "Outcome",
                    [
                        "implant_failure",
                        "local_progression",
                        "adjuvant_radiotherapy",
                        "systemic_therapy",
                    ],
                ),
                MSTS,
                TESS,
                EQ5D,
                BPI,
            ),
            never_coded=("visit_date", "missed_reason", "vital_status"),
        ),
        FormSpec(
            "adverse-event",
            AdverseEvent,
            "Adverse event",
            REPEATABLE,
            (
                (
                    "Event",
                    [
                        "term",
                        "body_system",
                        "onset_date",
                        "awareness_date",
                        "clavien_dindo",
                    ],
                ),
                ("Seriousness", ["serious", *SAE_CRITERIA]),
                (
                    "Assessment",
                    ["relatedness", "expected", "outcome", "resolution_date"],
                ),
            ),
            branching={
                **dict.fromkeys(SAE_CRITERIA, ShownWhen("serious", (True,))),
                # A resolution date only for an event that resolved.
                "resolution_date": ShownWhen(
                    "outcome",
                    (AdverseEvent.Outcome.RECOVERED, AdverseEvent.Outcome.SEQUELAE),
                ),
            },
            never_coded=("term", "onset_date", "awareness_date", "serious"),
        ),
        FormSpec(
            "reoperation",
            Reoperation,
            "Reoperation / implant failure",
            REPEATABLE,
            (
                (
                    "Reoperation",
                    ["reoperation_date", "reason", "reason_other", "procedure"],
                ),
            ),
            branching={"reason_other": _when_other("reason")},
            never_coded=("reoperation_date",),
        ),
        FormSpec(
            "local-recurrence",
            LocalRecurrence,
            "Local recurrence or progression",
            SINGLE,
            (("Local recurrence", ["recurrence_date", "detected_by"]),),
            never_coded=("recurrence_date",),
        ),
        FormSpec(
            "death",
            Death,
            "Death",
            SINGLE,
            (("Death", ["death_date", "primary_cause", "cause_detail"]),),
            never_coded=("death_date",),
        ),
        FormSpec(
            "withdrawal",
            Withdrawal,
            "Withdrawal / lost to follow-up",
            SINGLE,
            (
                (
                    "Withdrawal",
                    ["kind", "withdrawal_date", "reason", "data_use_permitted"],
                ),
            ),
            never_coded=("kind", "withdrawal_date", "data_use_permitted"),
        ),
        FormSpec(
            "deviation",
            ProtocolDeviation,
            "Protocol deviation",
            REPEATABLE,
            (("Deviation", ["deviation_date", "category", "description", "severity"]),),
            entered_from=FROM_CONSENT,
            never_coded=("deviation_date", "category", "description", "severity"),
        ),
    ]
}


def spec_for_model(model: type[CrfForm]) -> FormSpec:
    for spec in FORMS.values():
        if spec.model is model:
            return spec
    raise KeyError(model.__name__)


def form_url(study_id, spec: FormSpec, *, action="edit", visit=None, pk=None) -> str:
    """The URL of one form's page (``action``: edit, history, sign, lock,
    unlock; ``new`` for a repeatable form not yet entered)."""
    if spec.kind == PER_VISIT:
        return reverse(f"crf:visit_{action}", args=[study_id, visit])
    if spec.kind == REPEATABLE:
        if pk is None:
            return reverse("crf:repeatable_new", args=[study_id, spec.key])
        return reverse(f"crf:repeatable_{action}", args=[study_id, spec.key, pk])
    return reverse(f"crf:single_{action}", args=[study_id, spec.key])
