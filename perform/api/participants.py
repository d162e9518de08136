"""``/api/v1/participants/``: list, screen (create) and read participants."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
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
from perform import selectors, services
from perform.clinical_dates import clinical_date_error
from perform.eligibility import eligibility_evaluate
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
        criteria = self.context["criteria"]
        saved = selectors.participant_answers(participant)
        answers = {c.code: saved.get(c.code) for c in criteria}
        result = eligibility_evaluate(
            criteria=criteria, answers=answers, age=participant.age_at_screening
        )
        return EligibilityOutputSerializer(
            {
                "answers": answers,
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


class ParticipantScreenInputSerializer(serializers.Serializer):
    """The screening form's rules (``perform.forms.ScreeningForm``) for JSON.

    Needs ``context["request"]`` (the site must be one the caller may screen
    at) and ``context["criteria"]`` (the active checklist).
    """

    site = serializers.CharField(max_length=3, help_text="Site code, e.g. TOR.")
    screening_date = serializers.DateField()
    age_at_screening = serializers.IntegerField(min_value=0, max_value=120)
    year_of_birth = serializers.IntegerField(
        min_value=1900, max_value=2100, required=False, allow_null=True, default=None
    )
    sex = serializers.ChoiceField(choices=Sex.choices)
    fracture_status = serializers.ChoiceField(
        choices=FractureStatus.choices, allow_blank=True, default=""
    )
    screening_notes = serializers.CharField(
        allow_blank=True, default="", trim_whitespace=True
    )
    answers = serializers.DictField(
        child=StrictNullBooleanField(),
        help_text="Criterion code → true/false/null (null or absent: not yet known).",
    )

    def validate_site(self, code):
        user = self.context["request"].user
        site = selectors.screening_sites_for(user).filter(code=code.upper()).first()
        if site is None:
            # Same words for an unknown site and another site's: no disclosure.
            raise serializers.ValidationError(
                f"You cannot screen patients at site {code}."
            )
        return site

    def validate_screening_date(self, value):
        if problem := clinical_date_error(value):
            raise serializers.ValidationError(problem)
        return value

    def validate_answers(self, answers):
        known = {c.code for c in self.context["criteria"]}
        unknown = sorted(set(answers) - known)
        if unknown:
            raise serializers.ValidationError(
                {code: ["Unknown eligibility criterion."] for code in unknown}
            )
        return answers

    def validate(self, attrs):
        errors = {}
        age = attrs["age_at_screening"]
        yob = attrs.get("year_of_birth")
        screened = attrs["screening_date"]
        if yob:
            implied = screened.year - yob
            if yob > screened.year:
                errors["year_of_birth"] = ["Year of birth is after the screening date."]
            elif abs(implied - age) > 1:
                errors["year_of_birth"] = [
                    f"Year of birth {yob} gives age {implied - 1}–{implied} at "
                    f"screening, not {age}."
                ]
        min_age = settings.TRIAL["MIN_AGE"]
        if age < min_age and attrs["answers"].get("age_adult") is True:
            errors["answers"] = {
                "age_adult": [
                    f"The age entered is {age}: this criterion cannot be met."
                ]
            }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


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
