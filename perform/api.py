"""JSON API v1 for the trial core: thin DRF views over the same selectors and
services as the web pages.

Django's ``LoginRequiredMiddleware`` leaves these views alone: DRF (3.15+)
sets ``login_required = False`` on every ``APIView.as_view()``, the same mark
``login_not_required`` gives. DRF then authenticates the request itself (token
or session) and answers 401/403 as JSON instead of redirecting to the login
page; ``tests/perform/test_api.py`` guards this for every endpoint. Site scope
comes from ``perform.selectors``; another site's participant is a 404, never a
403.

Status codes: 400 invalid input (``{"field": ["message"]}``, non-field errors
under ``non_field_errors``), 401 no or bad credentials, 403 the caller's role
lacks the permission, 404 not found or outside the caller's scope, 409 a
lifecycle transition the protocol forbids, 429 login locked out by django-axes.
"""

import logging

from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from perform import selectors, services
from perform.eligibility import eligibility_evaluate
from perform.exceptions import InvalidTransition, TrialError
from perform.models import FractureStatus, ParticipantStatus, Sex, Site

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY


# -----------------------------------------------------------------------------
# Errors: every failure is a JSON body
# -----------------------------------------------------------------------------
def exception_handler(exc, context):
    """DRF's handler, plus the trial's domain errors and a JSON 500.

    * ``TrialError`` with a ``field`` → 400 ``{field: [message]}``, without one
      → 400 ``{"non_field_errors": [message]}``;
    * ``InvalidTransition`` → 409 ``{"detail": message, "code": ...}``;
    * Django ``ValidationError`` → 400 in DRF's field-dict shape;
    * ``Http404`` → 404 ``{"detail": "Not found."}`` (the model is not named);
    * Django ``PermissionDenied`` → 403 ``{"detail": ...}``;
    * anything unexpected is logged with its traceback and answers 500 JSON.
    """
    if isinstance(exc, InvalidTransition):
        set_rollback()
        return Response(
            {"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, TrialError):
        exc = exceptions.ValidationError(
            {exc.field or NON_FIELD_ERRORS: [exc.message]}, code=exc.code
        )
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.error(
            "Unhandled error in API view %s",
            type(view).__name__ if view else "?",
            exc_info=exc,
        )
        set_rollback()
        return Response(
            {"detail": "A server error occurred.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        response.data = {NON_FIELD_ERRORS: response.data}
    return response


class ApiErrorSerializer(serializers.Serializer):
    """Body of every 401, 403, 404, 409 and 429 answer."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


_STRINGS = {"type": "array", "items": {"type": "string"}}
_VALIDATION_ERROR = OpenApiResponse(
    response={
        "type": "object",
        "description": (
            "Field name → messages; errors not tied to a field are under "
            "`non_field_errors`. Errors in `answers` are keyed by criterion code."
        ),
        "additionalProperties": {
            "oneOf": [_STRINGS, {"type": "object", "additionalProperties": _STRINGS}]
        },
        "example": {"screening_date": ["The date cannot be in the future."]},
    },
    description="Invalid input or malformed JSON; nothing was saved.",
)
_UNAUTHENTICATED = OpenApiResponse(
    ApiErrorSerializer, description="No credentials, or an invalid token."
)
_FORBIDDEN = OpenApiResponse(
    ApiErrorSerializer, description="The caller's role lacks the permission."
)
_NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer, description="No such participant in the caller's site scope."
)


# -----------------------------------------------------------------------------
# Building blocks
# -----------------------------------------------------------------------------
class LenientContentNegotiation(DefaultContentNegotiation):
    """Honour ``Accept`` when it names a format the view renders; otherwise
    answer in the view's first format (JSON) instead of 406, as RFC 9110 §12.5.1
    allows, so an ``Accept: text/html`` never hides a 401/403/404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


class JsonApiMixin:
    content_negotiation_class = LenientContentNegotiation


class HasRequiredPermission(BasePermission):
    """The caller holds the Django permission ``view.required_permissions`` names
    for the request method (HEAD as GET); methods not named need none beyond the
    view's other permission classes."""

    def has_permission(self, request, view):
        method = "GET" if request.method == "HEAD" else request.method
        perm, message = view.required_permissions.get(method, (None, None))
        if perm is None or request.user.has_perm(perm):
            return True
        self.message = message
        return False


class StrictNullBooleanField(serializers.BooleanField):
    """JSON ``true``/``false``/``null`` only; no "yes", 1 or "true" strings."""

    default_error_messages = {"invalid": "Answer true, false or null."}

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


# -----------------------------------------------------------------------------
# Authentication
# -----------------------------------------------------------------------------
class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenObtainApi(JsonApiMixin, ObtainAuthToken):
    """Exchange a username and password for an API token.

    Credentials go through ``django.contrib.auth.authenticate(request=...)``, so
    django-axes counts failures: the ``AXES_FAILURE_LIMIT``-th failure for one
    username from one address locks that pair, and while locked every attempt,
    even with the right password, answers 429 JSON. A successful login sends
    ``user_logged_in`` (resetting the failure count and updating last login), as
    the web login does.
    """

    authentication_classes = ()
    permission_classes = ()
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)

    @extend_schema(
        operation_id="auth_token_obtain",
        auth=[],
        request=AuthTokenSerializer,
        responses={
            200: TokenOutputSerializer,
            400: _VALIDATION_ERROR,
            429: OpenApiResponse(
                ApiErrorSerializer,
                description="Too many failed logins for this username from this "
                "address; try again after the cool-off (see Retry-After).",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        if self._locked_out(request):
            return self._lockout_response(request)
        if not valid:
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response(TokenOutputSerializer({"token": token.key}).data)

    @staticmethod
    def _locked_out(request) -> bool:
        # axes' signal handler flags the request object it was given: here the
        # DRF Request, which AxesMiddleware never sees. Should a future axes
        # flag the Django request instead, clear that flag so the middleware
        # does not swap this JSON answer for its HTML lockout page.
        django_request = request._request
        locked = bool(
            getattr(request, "axes_locked_out", False)
            or getattr(django_request, "axes_locked_out", False)
        )
        if locked:
            django_request.axes_locked_out = False
        return locked

    @staticmethod
    def _lockout_response(request) -> Response:
        headers = {}
        cool_off = get_cool_off(request)
        if cool_off:
            headers["Retry-After"] = str(int(cool_off.total_seconds()))
        return Response(
            {"detail": get_lockout_message(), "code": "locked_out"},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers=headers,
        )


# -----------------------------------------------------------------------------
# Sites
# -----------------------------------------------------------------------------
class SiteOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "country",
            "time_zone",
            "activation_date",
            "target_enrolment",
            "is_active",
        ]


class SiteListApi(JsonApiMixin, generics.GenericAPIView):
    """Sites whose participants the caller may see (``selectors.sites_for``).

    Any authenticated user may call it; a user without participant access (a
    DSMB member) gets an empty list rather than 403, which reveals nothing.
    Not paginated: a trial has a handful of sites.
    """

    pagination_class = None

    @extend_schema(
        operation_id="sites_list",
        responses={200: SiteOutputSerializer(many=True), 401: _UNAUTHENTICATED},
    )
    def get(self, request):
        sites = selectors.sites_for(request.user)
        return Response(SiteOutputSerializer(sites, many=True).data)


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
    """One participant; needs ``context["criteria"]`` (the active checklist)."""

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
        if value > timezone.localdate():
            raise serializers.ValidationError("The date cannot be in the future.")
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
            400: _VALIDATION_ERROR,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
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
            400: _VALIDATION_ERROR,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
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
            participant, context={"criteria": criteria}
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
            401: _UNAUTHENTICATED,
            404: _NOT_FOUND,
        },
    )
    def get(self, request, study_id):
        participant = selectors.participant_detail(user=request.user, study_id=study_id)
        data = ParticipantOutputSerializer(
            participant, context={"criteria": selectors.criteria_active()}
        ).data
        return Response(data)


# -----------------------------------------------------------------------------
# Schema and unknown URLs
# -----------------------------------------------------------------------------
class SchemaApi(JsonApiMixin, SpectacularAPIView):
    """The OpenAPI 3 description of this API (JSON; ``?format=yaml`` for YAML).

    Requires authentication like the rest of the platform: the schema holds no
    trial data, but the platform is for registered staff only.
    """

    permission_classes = [IsAuthenticated]

    def get_renderers(self):
        # JSON first, so the default answer is JSON.
        return sorted(super().get_renderers(), key=lambda r: "json" not in r.format)

    def handle_exception(self, exc):
        # An error is not a schema: answer it as plain JSON whatever was asked.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


@extend_schema(exclude=True)
class NotFoundApi(JsonApiMixin, APIView):
    """Any other URL under /api/v1/: a JSON 404 instead of the HTML page."""

    authentication_classes = ()
    permission_classes = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound()
