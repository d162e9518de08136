"""Token exchange (``POST /api/v1/auth/token/``), guarded by django-axes."""

from axes.helpers import get_cool_off, get_lockout_message
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from perform.api.common import (
    VALIDATION_ERROR_RESPONSE,
    ApiErrorSerializer,
    JsonApiMixin,
)
from perform.api.parsers import LimitedJSONParser
from perform.models import User


# -----------------------------------------------------------------------------
# Authentication
# -----------------------------------------------------------------------------
class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenInputSerializer(AuthTokenSerializer):
    """DRF's credentials serializer, refusing a username longer than the
    column holds: such a name cannot be an account, so it is a 400 on
    ``username`` and never reaches ``authenticate`` or django-axes."""

    username = serializers.CharField(
        label="Username",
        write_only=True,
        max_length=User._meta.get_field(User.USERNAME_FIELD).max_length,
    )


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
    parser_classes = (LimitedJSONParser,)
    renderer_classes = (JSONRenderer,)
    serializer_class = TokenInputSerializer

    @extend_schema(
        operation_id="auth_token_obtain",
        auth=[],
        request=TokenInputSerializer,
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
