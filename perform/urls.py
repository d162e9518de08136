"""The trial core's pages: participants, screening, consent, accounts, log-in
and two-factor set-up, roles. Included at the root by ``config.urls``."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from two_factor.views import BackupTokensView, QRGeneratorView, SetupCompleteView

from perform import (
    audit_views,
    mfa_views,
    notification_views,
    role_views,
    session_views,
    views,
)
from perform.forms import TaskPasswordResetForm

# django-two-factor-auth's pages (names in its "two_factor" namespace, which
# its views and templates use), with perform.mfa_views' versions where the
# trial adds a rule.
two_factor_urls = (
    [
        path("setup/", mfa_views.SetupView.as_view(), name="setup"),
        path("qrcode/", QRGeneratorView.as_view(), name="qr"),
        path("setup/complete/", SetupCompleteView.as_view(), name="setup_complete"),
        path("backup/tokens/", BackupTokensView.as_view(), name="backup_tokens"),
        path("", mfa_views.ProfileView.as_view(), name="profile"),
        path("disable/", mfa_views.DisableView.as_view(), name="disable"),
    ],
    "two_factor",
)

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
        "participants/<str:study_id>/audit/",
        audit_views.participant_audit,
        name="participant_audit",
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
    path("roles/", role_views.role_accounts, name="role_accounts"),
    path("roles/history/", role_views.role_history, name="role_history"),
    path("roles/<int:user_id>/", role_views.role_account, name="role_account"),
    # The two-factor log-in wizard replaces Django's login view (same name).
    path("accounts/login/", mfa_views.LoginView.as_view(), name="login"),
    path("account/security/", include(two_factor_urls)),
    path(
        "account/security/api-tokens/revoke/",
        mfa_views.api_tokens_revoke,
        name="api_tokens_revoke",
    ),
    path(
        "account/session/keep-alive/",
        session_views.session_keep_alive,
        name="session_keep_alive",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
]
