"""The OpenAPI schema and the JSON 404 for unknown API paths."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.utils import (
    extend_schema,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from perform.api.common import (
    JsonApiMixin,
)


class ApiTokenScheme(KnoxTokenScheme):
    """``Authorization: Token <token>`` (perform.api_tokens), in the schema."""

    target_class = "perform.api_tokens.ApiTokenAuthentication"
    name = "tokenAuth"


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
