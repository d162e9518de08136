"""Top-level URLconf: every app's pages, the JSON API and the admin. Every page
requires login (LoginRequiredMiddleware) unless its view is marked
``login_not_required``."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

# Bad requests as a page, or JSON under /api/; a body too large is a 413.
handler400 = "infrastructure.http_errors.bad_request"

urlpatterns = [
    path("", include("perform.urls")),
    path("randomization/", include("randomization.urls")),
    path("reports/", include("outcomes.urls")),
    path("exports/", include("outcomes.data_export.urls")),
    path("", include("infrastructure.urls")),
    path("", include("crf.urls")),
    path("monitoring/", include("outcomes.monitoring.urls")),
    path("api/v1/", include("config.api_urls")),
    # The admin's own login form would skip the second factor.
    path(
        "admin/login/",
        login_not_required(
            RedirectView.as_view(pattern_name="login", query_string=True)
        ),
    ),
    path("admin/", admin.site.urls),
]
