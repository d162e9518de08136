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

from infrastructure.api.common import (
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


# -----------------------------------------------------------------------------
# Errors every operation can answer (drf-spectacular post-processing hook)
# -----------------------------------------------------------------------------
API_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
_GENERIC_ERRORS = {
    "400": "Malformed request: JSON that cannot be parsed or is nested too "
    "deeply, a NUL character in the query string or a header.",
    "401": "No credentials, or an invalid, expired or revoked token.",
    "403": "The caller's role lacks the permission, or the session still needs "
    "its second factor.",
    "404": "No such object in the caller's scope (or a NUL character in the path).",
    "413": "The request body is larger than the upload limit.",
    "415": "The body is not JSON.",
}


def error_responses_hook(result, generator, request, public):
    """Document on every operation the errors that no view declares because
    they come from the layers around it (the request guard, the parser,
    authentication), so that clients and schemathesis see every status the
    API answers. A declared 400 (field errors) also admits the
    ``{"detail", "code"}`` body of a parse error."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            codes = ["400"]
            if operation.get("security"):
                codes += ["401", "403"]
            # An object the caller cannot see, or a page past the last.
            if any(
                parameter.get("in") == "path" or parameter.get("name") == "page"
                for parameter in operation.get("parameters", [])
            ):
                codes.append("404")
            if "requestBody" in operation:
                codes += ["413", "415"]
            for code in codes:
                if code not in responses:
                    responses[code] = {
                        "description": _GENERIC_ERRORS[code],
                        "content": {"application/json": {"schema": API_ERROR_SCHEMA}},
                    }
                elif code == "400":
                    content = responses[code].setdefault("content", {})
                    body = content.setdefault("application/json", {})
                    declared = body.get("schema")
                    body["schema"] = (
                        {"anyOf": [declared, API_ERROR_SCHEMA]}
                        if declared
                        else API_ERROR_SCHEMA
                    )
    return result
