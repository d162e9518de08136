"""The idle session's warning: what pages render for it and the "Stay signed
in" endpoint (static/js/session_expiry.js). Staying on a page renews nothing;
only requests do, this one when the user asks."""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_POST


def session_expiry(request) -> dict:
    """Context processor: seconds until the idle session ends, and how long
    before that pages warn, for signed-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "session_expiry": {
            "seconds": request.session.get_expiry_age(),
            "warn_seconds": settings.SESSION_WARNING_SECONDS,
        }
    }


@require_POST
def session_keep_alive(request):
    """Renew the signed-in user's session (POST, CSRF-checked); answers the
    seconds until it ends now."""
    request.session.modified = True
    return JsonResponse({"expires_in": request.session.get_expiry_age()})
