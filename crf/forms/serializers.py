"""Serializers of the CRF API (``crf.forms.api``): a form's fields as its model
declares them, its status and scores, and the write envelope."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from crf.forms.registry import FORMS, FormSpec
from crf.models import (
    CrfForm,
    FollowUp,
    MissingCode,
    PromResponse,
    Respondent,
    ResponseMode,
)
from crf.schedule.visits import visit_definitions
from infrastructure.api.common import ApiErrorSerializer

SCORES = (
    "msts_total",
    "msts_percent",
    "tess_score",
    "eq5d_profile",
    "bpi_interference",
    "mirels_total",
)

_field_serializers: dict[str, type[serializers.ModelSerializer]] = {}


def fields_serializer_class(spec: FormSpec) -> type[serializers.ModelSerializer]:
    """The form's entry fields as a ModelSerializer: ranges, choices and lengths
    come from the model fields (the same validators the web form uses)."""
    if spec.key not in _field_serializers:
        meta = type("Meta", (), {"model": spec.model, "fields": spec.fields})
        _field_serializers[spec.key] = type(
            f"{spec.model.__name__}FieldsSerializer",
            (serializers.ModelSerializer,),
            {"Meta": meta, "__module__": __name__},
        )
    return _field_serializers[spec.key]


class ScoresOutputSerializer(serializers.Serializer):
    """Scores stored with the form (PROTOCOL §8); only the form's instruments."""

    msts_total = serializers.IntegerField(required=False, allow_null=True)
    msts_percent = serializers.FloatField(required=False, allow_null=True)
    tess_score = serializers.FloatField(required=False, allow_null=True)
    eq5d_profile = serializers.CharField(required=False, allow_blank=True)
    bpi_interference = serializers.FloatField(required=False, allow_null=True)
    mirels_total = serializers.IntegerField(required=False, allow_null=True)


class PromResponseOutputSerializer(serializers.Serializer):
    """How the visit's questionnaires were answered (PROTOCOL §13), read-only:
    a correction goes through a data query, not this object."""

    mode = serializers.ChoiceField(
        choices=ResponseMode.choices, help_text="link, tablet or paper."
    )
    respondent = serializers.ChoiceField(choices=Respondent.choices)
    language = serializers.CharField()
    # A string, not a choice: an enum named "status" would collide in the
    # OpenAPI schema with the forms' and queries' status enums.
    status = serializers.CharField(help_text="in_progress or submitted.")
    started_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


def prom_response_data(response: PromResponse | None) -> dict | None:
    if response is None:
        return None
    return PromResponseOutputSerializer(response).data


class FormOutputSerializer(serializers.Serializer):
    """One CRF instance (built by ``form_data``)."""

    key = serializers.ChoiceField(choices=sorted(FORMS), help_text="Form key.")
    id = serializers.IntegerField()
    visit = serializers.CharField(
        allow_null=True, help_text="Visit code of a follow-up form; null otherwise."
    )
    status = serializers.CharField(help_text="draft, complete or signed.")
    locked = serializers.BooleanField()
    version = serializers.IntegerField(
        help_text="Send it back as `based_on_version` when changing the form."
    )
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(help_text="Username of the last editor.")
    fields = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="Field name → value (dates as YYYY-MM-DD, null when empty).",
    )
    missing_codes = serializers.DictField(
        child=serializers.ChoiceField(choices=MissingCode.choices),
        help_text="Field name → missing-data code (PROTOCOL §7) for the fields "
        "left without a value, with the reason; such a field's value is null.",
    )
    scores = ScoresOutputSerializer()
    prom_response = PromResponseOutputSerializer(
        allow_null=True,
        read_only=True,
        help_text="The visit's questionnaire response (follow-up and baseline "
        "forms), null when there is none.",
    )


def form_data(
    spec: FormSpec, form: CrfForm, *, prom_response: PromResponse | None = None
) -> dict:
    scores = {}
    for name in SCORES:
        if hasattr(form, name):
            value = getattr(form, name)
            scores[name] = float(value) if isinstance(value, Decimal) else value
    return {
        "key": spec.key,
        "id": form.pk,
        "visit": form.visit if isinstance(form, FollowUp) else None,
        "status": form.status,
        "locked": form.locked,
        "version": form.version,
        "updated_at": serializers.DateTimeField().to_representation(form.updated_at),
        "updated_by": form.updated_by.username,
        "fields": fields_serializer_class(spec)(form).data,
        "missing_codes": dict(form.missing_codes or {}),
        "scores": scores,
        "prom_response": prom_response_data(prom_response),
    }


class FormInputSerializer(serializers.Serializer):
    complete = serializers.BooleanField(
        default=False,
        help_text="Save as complete (every required field and rule) or as draft.",
    )
    reason = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Reason for change: required once the form was ever complete.",
    )
    based_on_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The version the change starts from; an older one answers 409.",
    )
    visit = serializers.ChoiceField(
        choices=[],  # the configured visits, read per instance (__init__)
        required=False,
        help_text="Follow-up visit code (POST of `follow-up` only).",
    )
    fields = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        default=dict,
        help_text="Field name → value. On PUT, fields not named keep their value.",
    )
    missing_codes = serializers.DictField(
        child=serializers.ChoiceField(choices=MissingCode.choices),
        required=False,
        help_text="Field name → missing-data code (NA, UNK, ND, ILL, DEC, DIED) "
        "for fields left without a value: a coded field counts as answered for "
        "`complete` and must have no value. When given, it replaces the form's "
        "codes; on PUT, omitted keeps them.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when used, not at import: the visits are configuration.
        self.fields["visit"].choices = [v.code for v in visit_definitions()]


_STRINGS = {"type": "array", "items": {"type": "string"}}
FORM_VALIDATION_RESPONSE = OpenApiResponse(
    response={
        "type": "object",
        "properties": {
            "fields": {
                "type": "object",
                "additionalProperties": _STRINGS,
                "description": "Form field name → messages.",
            },
            "reason": _STRINGS,
            "visit": _STRINGS,
            "complete": _STRINGS,
            "based_on_version": _STRINGS,
            "missing_codes": {
                "type": "object",
                "additionalProperties": _STRINGS,
                "description": "Field name given a code → messages.",
            },
            "non_field_errors": _STRINGS,
        },
        "example": {"fields": {"haemoglobin_g_l": ["Ensure this value is ..."]}},
    },
    description="Invalid input; nothing was saved.",
)
CONFLICT_RESPONSE = OpenApiResponse(
    ApiErrorSerializer,
    description="`form_not_allowed` (not before randomization, or consent), "
    "`form_locked`, `stale_form` or `form_exists`; nothing was saved.",
)
