"""API authentication: token exchange, logout, and the token check itself.

``POST /api/v1/auth/token/`` exchanges a username and password (and, for an
account with two-factor authentication, a current code) for a token of one
named client; ``POST /api/v1/auth/logout/`` revokes the token it is called
with, ``POST /api/v1/auth/logout-all/`` every token of the caller. Tokens are
django-rest-knox tokens (``perform.api_tokens``): hashed, per client,
expiring, revoked on password change, lockout and deactivation.
"""

from axes.helpers import get_cool_off, get_lockout_message
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from infrastructure.api.common import (
    UNAUTHENTICATED_RESPONSE,
    VALIDATION_ERROR_RESPONSE,
    ApiErrorSerializer,
    JsonApiMixin,
)
from perform import api_tokens, mfa


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    client = serializers.RegexField(
        r"^[A-Za-z0-9 ._-]{1,100}$",
        required=False,
        default="default",
        help_text="Name of the program this token is for (letters, digits, "
        "space, . _ -). A new token for the same client replaces its old one.",
        error_messages={
            "invalid": "Use 1-100 letters, digits, spaces, dots, dashes or underscores."
        },
    )
    otp_token = serializers.CharField(
        required=False,
        max_length=16,
        help_text="For accounts with two-factor authentication: the current "
        "6-digit code of the authenticator app, or an unused recovery code.",
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once; only its digest is kept.")
    client = serializers.CharField()
    expiry = serializers.DateTimeField(
        help_text="Moves forward with use (idle lifetime), never past the "
        "token's absolute lifetime."
    )


class TokenObtainApi(JsonApiMixin, APIView):
    """Exchange a username and password for an API token of one client.

    Credentials go through ``django.contrib.auth.authenticate(request=...)``,
    so django-axes counts failures: the ``AXES_FAILURE_LIMIT``-th failure for
    one username from one address locks that pair (and revokes the account's
    tokens), and while locked every attempt answers 429 JSON. An account that
    needs two-factor authentication must send ``otp_token``; a wrong code
    counts as a failed login.
    """

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        operation_id="auth_token_obtain",
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenOutputSerializer,
            400: VALIDATION_ERROR_RESPONSE,
            429: OpenApiResponse(
                ApiErrorSerializer,
                description="Too many failed logins for this username from this "
                "address; try again after the cool-off (see Retry-After).",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data)
        if not serializer.is_valid():
            if self._locked_out(request):
                return self._lockout_response(request)
            raise exceptions.ValidationError(serializer.errors)
        data = serializer.validated_data
        user = authenticate(
            request._request, username=data["username"], password=data["password"]
        )
        if self._locked_out(request):
            return self._lockout_response(request)
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        refusal = mfa.api_login_refusal(
            request._request, user=user, code=data.get("otp_token", "")
        )
        if self._locked_out(request):
            return self._lockout_response(request)
        if refusal:
            raise exceptions.ValidationError({"otp_token": [refusal]})
        try:
            instance, token = api_tokens.api_token_issue(
                user=user, client=data["client"]
            )
        except api_tokens.TooManyTokens as error:
            raise exceptions.ValidationError({"client": [error.message]}) from None
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response(
            TokenOutputSerializer(
                {"token": token, "client": instance.client, "expiry": instance.expiry}
            ).data
        )

    @staticmethod
    def _locked_out(request) -> bool:
        # axes flags the request object it was given (the Django request);
        # clear the flag so AxesMiddleware does not swap this JSON answer for
        # its HTML lockout page.
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


class _TokenLogoutApi(JsonApiMixin, APIView):
    authentication_classes = (api_tokens.ApiTokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    def _respond(self, request):
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenLogoutApi(_TokenLogoutApi):
    """Revoke the token this request is made with."""

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, 401: UNAUTHENTICATED_RESPONSE},
    )
    def post(self, request, *args, **kwargs):
        request.auth.delete()
        return self._respond(request)


class TokenLogoutAllApi(_TokenLogoutApi):
    """Revoke every token of the caller (all clients)."""

    @extend_schema(
        operation_id="auth_logout_all",
        request=None,
        responses={204: None, 401: UNAUTHENTICATED_RESPONSE},
    )
    def post(self, request, *args, **kwargs):
        api_tokens.api_tokens_revoke(user_id=request.user.pk, why="logout of all")
        return self._respond(request)
