"""The trial core's middleware: each request's audit context and the
two-factor requirement. Request guards and headers: ``infrastructure.middleware``."""

import pghistory
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode

from perform import kept_submissions, mfa


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


class KeptSubmissionMiddleware:
    """A form POST that arrives after the session expired is kept, not
    dropped (``perform.kept_submissions``); and a kept submission is never
    left in another user's session.

    Only views marked ``restores_kept_submission`` keep a post; any other
    post of a signed-in page is sent to log in with a message saying so.
    Placed after CsrfViewMiddleware (a POST with a bad token is refused
    before anything is kept) and before LoginRequiredMiddleware (which would
    otherwise send the user to log in with nothing kept). Only POSTs that
    carried a session cookie to a page requiring login are kept; pages open
    to anonymous users and the API are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if user.is_authenticated:
            kept_submissions.submission_discard_foreign(request=request)
            return None
        if (
            request.method != "POST"
            or not getattr(view_func, "login_required", True)
            or request.path_info.startswith("/api/")
            or settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            return None
        kept = None
        if getattr(view_func, "restores_kept_submission", False):
            kept = kept_submissions.submission_keep(request=request)
        messages.warning(
            request,
            kept_submissions.KEPT_MESSAGE
            if kept is not None
            else kept_submissions.NOT_KEPT_MESSAGE,
        )
        return redirect_to_login(request.get_full_path())
