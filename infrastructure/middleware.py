"""Middleware of every request: bad requests refused before anything reads
them, and the Permissions-Policy header."""

from django.conf import settings

from infrastructure.http_errors import error_response, request_too_large


class RequestGuardMiddleware:
    """Refuse, before anything reads them, requests no view could answer:

    * a NUL character in the path → 404 (no URL has one), in the query string
      or a header → 400. PostgreSQL text cannot hold NUL: psycopg2 raises
      ValueError for any query that carries one, so a NUL reaching a lookup
      (a study ID in the URL, a filter read from ``request.GET``, an API token,
      the User-Agent django-axes records) would be a 500. Form and serializer
      fields refuse NUL themselves; this catches what no field reads.
    * a declared ``Content-Length`` over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → 413,
      before the body is read. Django would only raise ``RequestDataTooBig``
      (a 400, or a 500 inside DRF) once a view or the CSRF check reads it; here
      the limit covers uploaded files too. A body with no declared length is
      still checked when read (``infrastructure.http_errors.bad_request``).

    Placed before the session, CSRF and authentication middleware, which
    look things up from the request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            return error_response(
                request, status=404, detail="Not found.", code="not_found"
            )
        if any("\x00" in text for text in _query_texts(request)):
            return _nul_refused(request, "The query string contains a NUL character.")
        if any("\x00" in text for text in _header_texts(request)):
            return _nul_refused(request, "A request header contains a NUL character.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        size = _declared_length(request)
        if limit is not None and size > limit:
            return request_too_large(request, size)
        return self.get_response(request)


def _query_texts(request):
    for key, values in request.GET.lists():
        yield key
        yield from values


def _header_texts(request):
    for key, value in request.META.items():
        if key.startswith("HTTP_"):
            yield str(value)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _nul_refused(request, detail: str):
    return error_response(request, status=400, detail=detail, code="nul_character")


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
