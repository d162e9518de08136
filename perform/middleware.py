"""Small middleware: bad requests refused early; each request's audit
context; a Permissions-Policy header; the two-factor requirement."""

import pghistory
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode

from perform import mfa
from perform.http_errors import error_response, request_too_large


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
      still checked when read (``perform.http_errors.bad_request``).

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


class AuditContextMiddleware:
    """Attach the requesting user and URL to audit events written by a request.

    Services add the acting user (and reason) explicitly as well, because API
    token authentication only identifies the user inside the DRF view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in settings.PGHISTORY_MIDDLEWARE_METHODS:
            return self.get_response(request)
        metadata = {"url": request.path}
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            metadata.update(user=user.pk, username=user.get_username())
        with pghistory.context(**metadata):
            return self.get_response(request)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class TwoFactorRequiredMiddleware:
    """Accounts that need two-factor authentication (``perform.mfa``) reach no
    page until their session is verified by a second factor.

    Without an authenticator yet, they are sent to set one up; with one (a
    session that began without a code), they are logged out and sent to log
    in again; session calls to the API get a 403 JSON answer. Only the pages
    needed to get there stay open. API token clients pass their code when
    asking for the token (``perform.api.auth``).
    """

    OPEN_WITHOUT_DEVICE = {
        "login",
        "logout",
        "healthz",
        "two_factor:setup",
        "two_factor:qr",
        "two_factor:setup_complete",
        "two_factor:backup_tokens",
    }
    # With an authenticator the only way on is to log in with its code.
    OPEN_WITH_DEVICE = {"login", "logout", "healthz"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and mfa.otp_required(user)
        ):
            try:
                view_name = resolve(request.path_info).view_name
            except Resolver404:
                view_name = None
            has_device = mfa.otp_enabled(user)
            open_views = (
                self.OPEN_WITH_DEVICE if has_device else self.OPEN_WITHOUT_DEVICE
            )
            if view_name not in open_views:
                return self._refuse(request, user, has_device=has_device)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, user, *, has_device: bool):
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": "Two-factor authentication is required: log in "
                    "again with your code, or use an API token.",
                    "code": "otp_required",
                },
                status=403,
            )
        if has_device:
            logout(request)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('login')}?{query}")
        messages.info(
            request,
            "Your role requires two-factor authentication: set it up to continue.",
        )
        return redirect("two_factor:setup")
