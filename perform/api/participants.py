"""``/api/v1/participants/``: list, screen (create) and read participants."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.fields import SkipField, get_error_detail
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from infrastructure.api.common import (
    FORBIDDEN_RESPONSE,
    NOT_FOUND_RESPONSE,
    UNAUTHENTICATED_RESPONSE,
    VALIDATION_ERROR_RESPONSE,
    HasRequiredPermission,
    JsonApiMixin,
    StrictNullBooleanField,
)
from perform import screening, selectors, services
from perform.eligibility import participant_eligibility
from perform.models import FractureStatus, ParticipantStatus, Sex
from perform.panels import participant_resource_parts


# -----------------------------------------------------------------------------
# Participants
# -----------------------------------------------------------------------------
class ParticipantFilterSerializer(serializers.Serializer):
    site = serializers.CharField(
        required=False, allow_blank=True, max_length=3, help_text="Site code."
    )
    status = serializers.ChoiceField(
        choices=ParticipantStatus.choices, required=False, allow_blank=True
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="Part of a study ID.",
    )


class ParticipantSummaryOutputSerializer(serializers.Serializer):
    study_id = serializers.CharField()
    site = serializers.CharField(source="site.code")
    status = serializers.ChoiceField(choices=ParticipantStatus.choices)
    status_changed_at = serializers.DateTimeField()
    screening_date = serializers.DateField()
    age_at_screening = serializers.IntegerField()
    year_of_birth = serializers.IntegerField(allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices)
    fracture_status = serializers.ChoiceField(
        choices=FractureStatus.choices, allow_blank=True
    )


class EligibilityOutputSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Criterion code → answer (null while unknown).",
    )
    eligible = serializers.BooleanField(
        allow_null=True, help_text="Null while the checklist is incomplete."
    )
    unmet = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())


class ConsentOutputSerializer(serializers.Serializer):
    decision = serializers.CharField()
    decision_date = serializers.DateField()
    form_version = serializers.CharField()
    obtained_by = serializers.CharField()
    declined_reason = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(source="recorded_by.username")


class StatusChangeOutputSerializer(serializers.Serializer):
    to = serializers.CharField(source="to_status")
    at = serializers.DateTimeField(source="changed_at")
    by = serializers.CharField(source="changed_by.username", allow_null=True)
    reason = serializers.CharField()

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be a class attribute.
        fields = super().get_fields()
        return {
            "from": serializers.CharField(
                source="from_status", help_text="Empty for the first entry."
            ),
            **fields,
        }


class ParticipantOutputSerializer(ParticipantSummaryOutputSerializer):
    """One participant; needs ``context["criteria"]`` (the active checklist) and
    ``context["request"]`` (whose user decides what the apps' parts show).

    The apps above the core add their fields (the allocation, ...) through
    ``perform.panels``; each is documented by the schema its app gives."""

    eligibility = serializers.SerializerMethodField()
    consents = ConsentOutputSerializer(many=True)
    status_history = StatusChangeOutputSerializer(source="status_changes", many=True)

    @extend_schema_field(EligibilityOutputSerializer)
    def get_eligibility(self, participant):
        result = participant_eligibility(participant, criteria=self.context["criteria"])
        return EligibilityOutputSerializer(
            {
                "answers": {
                    line.criterion.code: line.answer for line in result.checklist
                },
                "eligible": result.eligible,
                "unmet": result.unmet,
                "missing": result.missing,
            }
        ).data

    def get_fields(self):
        fields = super().get_fields()
        for part in participant_resource_parts():
            fields[part.name] = extend_schema_field(part.schema)(
                ParticipantPartField(part)
            )
        return fields


class ParticipantPartField(serializers.Field):
    """A field an app contributes to the participant resource (its value from
    ``part.value(user, participant)``, read-only)."""

    def __init__(self, part):
        self.part = part
        super().__init__(source="*", read_only=True)

    def to_representation(self, participant):
        return self.part.value(self.context["request"].user, participant)


class _RangeDocumentedIntegerField(serializers.IntegerField):
    """An integer whose range the OpenAPI schema shows while
    ``perform.screening`` checks it (in the words the web form uses)."""

    def __init__(self, *, documented_range: tuple[int | None, int | None], **kwargs):
        super().__init__(**kwargs)
        # Attributes only (no validators): drf-spectacular reads them.
        self.min_value, self.max_value = documented_range


class ParticipantScreenInputSerializer(serializers.Serializer):
    """Screening input as JSON: the fields read it, ``perform.screening``
    checks it, as for the web form (``perform.forms.ScreeningForm``), in the
    same words.

    Needs ``context["request"]`` (the site must be one the caller may screen
    at) and ``context["criteria"]`` (the active checklist).
    """

    site = serializers.CharField(
        max_length=screening.SITE_CODE_LENGTH,
        help_text="Site code, e.g. TOR.",
        error_messages={
            "blank": screening.REQUIRED,
            "max_length": screening.too_long(screening.SITE_CODE_LENGTH),
        },
    )
    screening_date = serializers.DateField(
        error_messages={"invalid": screening.DATE_INVALID}
    )
    age_at_screening = _RangeDocumentedIntegerField(
        documented_range=(screening.AGE_MIN, screening.AGE_MAX),
        error_messages={"invalid": screening.NUMBER_INVALID},
    )
    year_of_birth = _RangeDocumentedIntegerField(
        documented_range=(screening.YEAR_OF_BIRTH_MIN, None),
        required=False,
        allow_null=True,
        default=None,
        help_text="Not after the screening date; within a year of the age.",
        error_messages={"invalid": screening.NUMBER_INVALID},
    )
    sex = serializers.ChoiceField(
        choices=Sex.choices,
        error_messages={"invalid_choice": screening.choice_invalid(Sex.values)},
    )
    fracture_status = serializers.ChoiceField(
        choices=FractureStatus.choices,
        allow_blank=True,
        default="",
        error_messages={
            "invalid_choice": screening.choice_invalid(FractureStatus.values)
        },
    )
    screening_notes = serializers.CharField(
        allow_blank=True, default="", trim_whitespace=True
    )
    answers = serializers.DictField(
        child=StrictNullBooleanField(
            error_messages={"invalid": screening.ANSWER_INVALID}
        ),
        help_text="Criterion code → true/false/null (null or absent: not yet known).",
    )

    def to_internal_value(self, data):
        """Read every field, then apply ``perform.screening``'s rules to those
        that could be read, so that one 400 names every error, as the web form
        shows them all."""
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "invalid data" error
        values, errors = {}, {}
        for field in self._writable_fields:
            try:
                values[field.field_name] = field.run_validation(field.get_value(data))
            except serializers.ValidationError as error:
                errors[field.field_name] = error.detail
            except DjangoValidationError as error:
                errors[field.field_name] = get_error_detail(error)
            except SkipField:
                pass
        check = screening.screening_input_check(
            user=self.context["request"].user,
            criteria=self.context["criteria"],
            values=values,
        )
        errors.update(check.errors)
        if check.answer_errors:
            errors["answers"] = check.answer_errors
        if errors:
            raise serializers.ValidationError(errors)
        values["site"] = check.site
        return values


class ParticipantListApi(JsonApiMixin, generics.GenericAPIView):
    """List participants in the caller's scope, or screen a new patient.

    GET needs ``perform.view_participant`` (403 otherwise, e.g. DSMB members);
    filters narrow within the caller's scope, so another site's code gives an
    empty page. POST needs ``perform.screen_participant``; a site the caller may
    not screen at is a 400 on ``site`` and nothing is created.
    """

    permission_classes = [IsAuthenticated, HasRequiredPermission]
    required_permissions = {
        "GET": ("perform.view_participant", "You may not view participants."),
        "POST": ("perform.screen_participant", "You may not screen participants."),
    }

    @extend_schema(
        operation_id="participants_list",
        parameters=[ParticipantFilterSerializer],
        responses={
            200: ParticipantSummaryOutputSerializer(many=True),
            400: VALIDATION_ERROR_RESPONSE,
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
        },
    )
    def get(self, request):
        """Participants in the caller's scope, newest screening first (paginated)."""
        filters = ParticipantFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        criteria = filters.validated_data
        participants = selectors.participant_list(
            user=request.user,
            site_code=criteria.get("site"),
            status=criteria.get("status"),
            search=criteria.get("search"),
        )
        page = self.paginate_queryset(participants)
        return self.get_paginated_response(
            ParticipantSummaryOutputSerializer(page, many=True).data
        )

    @extend_schema(
        operation_id="participants_screen",
        request=ParticipantScreenInputSerializer,
        responses={
            201: ParticipantOutputSerializer,
            400: VALIDATION_ERROR_RESPONSE,
            401: UNAUTHENTICATED_RESPONSE,
            403: FORBIDDEN_RESPONSE,
        },
    )
    def post(self, request):
        """Screen a patient: issue the next study ID at the site, record the
        checklist and set the status from it (eligible, ineligible or screened)."""
        criteria = selectors.criteria_active()
        serializer = ParticipantScreenInputSerializer(
            data=request.data, context={"request": request, "criteria": criteria}
        )
        serializer.is_valid(raise_exception=True)
        participant = services.participant_screen(
            actor=request.user, **serializer.validated_data
        )
        participant = selectors.participant_detail(
            user=request.user, study_id=participant.study_id
        )
        data = ParticipantOutputSerializer(
            participant, context={"criteria": criteria, "request": request}
        ).data
        location = reverse("api:participant_detail", args=[participant.study_id])
        return Response(
            data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class ParticipantDetailApi(JsonApiMixin, generics.GenericAPIView):
    """One participant in the caller's scope.

    Outside the scope, or without ``perform.view_participant`` at all, the
    answer is 404, so the study ID's existence is not revealed.
    """

    @extend_schema(
        operation_id="participants_retrieve",
        responses={
            200: ParticipantOutputSerializer,
            401: UNAUTHENTICATED_RESPONSE,
            404: NOT_FOUND_RESPONSE,
        },
    )
    def get(self, request, study_id):
        participant = selectors.participant_detail(user=request.user, study_id=study_id)
        data = ParticipantOutputSerializer(
            participant,
            context={"criteria": selectors.criteria_active(), "request": request},
        ).data
        return Response(data)
