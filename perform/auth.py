"""Login plumbing shared by the web login and the API token exchange."""

from axes.conf import settings as axes_settings
from axes.models import AccessAttempt


def lockout_username(request, credentials: dict | None = None) -> str | None:
    """The username django-axes counts failures for (``AXES_USERNAME_CALLABLE``).

    Axes' own rule (the credentials given to ``authenticate``, else the posted
    form or JSON field), cut to the length of its ``username`` column: a
    login form that does not limit the length (the admin's) would otherwise
    make the failure record a database error. Every username longer than that
    is longer than any account's, so cutting it merges nothing real.
    """
    field = axes_settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if username is None:
        return None
    return str(username)[: AccessAttempt._meta.get_field("username").max_length]
