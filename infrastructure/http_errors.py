"""Error answers given before (or instead of) a view: an HTML page for the web,
a JSON body ``{"detail": ..., "code": ...}`` for the API (``/api/``), so an
API client never has to parse an HTML error page."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.defaultfilters import filesizeformat
from django.views import defaults

API_PATH_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


def error_response(
    request: HttpRequest, *, status: int, detail: str, code: str
) -> HttpResponse:
    """``detail`` as JSON for the API, else the ``<status>.html`` page."""
    if is_api_request(request):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    body = loader.render_to_string(f"{status}.html", {"detail": detail}, request)
    return HttpResponse(body, status=status)


def request_too_large_message(size: int | None = None) -> str:
    limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    sent = f" ({filesizeformat(size)})" if size else ""
    return (
        f"The data sent{sent} is larger than the {limit} the platform accepts. "
        "Shorten the text or split the file."
    )


def request_too_large(request: HttpRequest, size: int | None = None) -> HttpResponse:
    return error_response(
        request,
        status=413,
        detail=request_too_large_message(size),
        code="request_too_large",
    )


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """``handler400``: Django's 400 page, except for a body found too large
    only when the view read it (no declared length; see
    ``infrastructure.middleware.RequestGuardMiddleware``), which is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request)
    if is_api_request(request):
        return error_response(
            request,
            status=400,
            detail="The request could not be understood.",
            code="bad_request",
        )
    return defaults.bad_request(request, exception)
