"""Small middleware: each request's audit context; a Permissions-Policy header."""

import pghistory
from django.conf import settings


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
