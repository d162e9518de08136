"""Shared API plumbing: JSON errors, content negotiation, permissions, fields."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from infrastructure.errors import Conflict, DomainError
from infrastructure.http_errors import request_too_large_message

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY


# -----------------------------------------------------------------------------
# Errors: every failure is a JSON body
# -----------------------------------------------------------------------------
def exception_handler(exc, context):
    """DRF's handler, plus the trial's domain errors and a JSON 500.

    * a ``DomainError`` (``infrastructure.errors``; every app's domain errors
      derive from it) with a ``field`` → 400 ``{field: [message]}``, without
      one → 400 ``{"non_field_errors": [message]}``;
    * a ``Conflict`` → 409 ``{"detail": message, "code": ...}``;
    * Django ``ValidationError`` → 400 in DRF's field-dict shape;
    * ``Http404`` → 404 ``{"detail": "Not found."}`` (the model is not named);
    * Django ``PermissionDenied`` → 403 ``{"detail": ...}``;
    * malformed or too deeply nested JSON → 400 ``{"detail", "code": "parse_error"}``;
    * a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` found when read → 413, any
      other ``SuspiciousOperation`` (too many fields, ...) → 400, both
      ``{"detail", "code"}`` and logged as Django logs them;
    * anything unexpected is logged with its traceback and answers 500 JSON.
    """
    if isinstance(exc, SuspiciousOperation):
        logging.getLogger(f"django.security.{type(exc).__name__}").warning(str(exc))
        if isinstance(exc, RequestDataTooBig):
            return Response(
                {"detail": request_too_large_message(), "code": "request_too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return Response(
            {"detail": "The request could not be understood.", "code": "bad_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Conflict):
        set_rollback()
        return Response(
            {"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DomainError):
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
    if isinstance(exc, exceptions.ParseError):
        response.data["code"] = "parse_error"
    return response


class ApiErrorSerializer(serializers.Serializer):
    """Body of every 401, 403, 404, 409 and 429 answer."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


_STRINGS = {"type": "array", "items": {"type": "string"}}
VALIDATION_ERROR_RESPONSE = OpenApiResponse(
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
UNAUTHENTICATED_RESPONSE = OpenApiResponse(
    ApiErrorSerializer, description="No credentials, or an invalid token."
)
FORBIDDEN_RESPONSE = OpenApiResponse(
    ApiErrorSerializer, description="The caller's role lacks the permission."
)
NOT_FOUND_RESPONSE = OpenApiResponse(
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
