"""The clinic tablet's lock (``crf.epro.tablet``): while a session is in
tablet mode, every URL but the tablet's own pages (and static files) is
answered with a redirect to the tablet's survey, so nothing else of the
platform (staff pages, API, admin, log-out) is reachable from the device
until the coordinator's password is given on the exit page.

Placed after the session and authentication middleware, before any that
could answer a request itself (log-in required, two-factor)."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from crf.epro.tablet import tablet_locked


class TabletLockMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only a session can be locked: a request without its cookie (an
        # API token client, a patient's link) leaves the session unread.
        cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
        if cookie and tablet_locked(request):
            tablet = reverse("epro:tablet")
            if not request.path.startswith((tablet, settings.STATIC_URL)):
                return redirect(tablet)
        return self.get_response(request)
