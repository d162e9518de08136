"""Top-level URLconf. Every page requires login (LoginRequiredMiddleware) unless
its view is marked ``login_not_required``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from perform import notification_views, views
from perform.forms import LoginForm, TaskPasswordResetForm

# Bad requests as a page, or JSON under /api/; a body too large is a 413.
handler400 = "perform.http_errors.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("participants/", views.participant_list, name="participant_list"),
    path("participants/screen/", views.participant_screen, name="participant_screen"),
    path(
        "participants/<str:study_id>/",
        views.participant_detail,
        name="participant_detail",
    ),
    path(
        "participants/<str:study_id>/screening/",
        views.participant_screening_edit,
        name="participant_screening_edit",
    ),
    path(
        "participants/<str:study_id>/consent/",
        views.participant_consent,
        name="participant_consent",
    ),
    path(
        "participants/<str:study_id>/decline/",
        views.participant_decline,
        name="participant_decline",
    ),
    path("screening/log/", views.screening_log, name="screening_log"),
    path("screening/summary/", views.screening_summary, name="screening_summary"),
    path("randomization/", include("randomization.urls")),
    path("reports/", include("outcomes.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=TaskPasswordResetForm),
        name="password_reset",
    ),
    path(
        "account/notifications/",
        notification_views.notification_settings,
        name="notification_settings",
    ),
    path("emails/", notification_views.email_log, name="email_log"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("crf.urls")),
    path("", include("crf.query_urls")),
    path("", include("crf.dashboard_urls")),
    path("api/v1/", include("perform.api_urls")),
    path("admin/", admin.site.urls),
]
