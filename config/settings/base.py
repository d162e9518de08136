"""Django settings for the PERFORM trial platform.

Every deployment-specific value comes from the environment (12-factor, via
django-environ). ``make run`` and ``make test`` fill in safe local defaults;
production sets them explicitly (see README "Configuration").
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# -----------------------------------------------------------------------------
# Core
# -----------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

_INSECURE_KEY_PREFIX = "django-insecure-"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (use a random string of 50+ "
            "characters)."
        )
    SECRET_KEY = _INSECURE_KEY_PREFIX + "local-development-only-not-for-production"
elif not DEBUG and (
    SECRET_KEY.startswith(_INSECURE_KEY_PREFIX)
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for DEBUG=off: it needs 50+ characters, 5+ distinct "
        "characters and no 'django-insecure-' prefix."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Shown on every page footer and printed on every report.
PLATFORM_VERSION = "0.1.0"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # third party
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "two_factor",
    "csp",
    "pgtrigger",
    "pghistory",
    "django_ratelimit",
    # ours, bottom floor first (README "Architecture")
    "infrastructure.apps.InfrastructureConfig",
    "perform.apps.PerformConfig",
    "randomization.apps.RandomizationConfig",
    "crf.apps.CrfConfig",
    "outcomes.apps.OutcomesConfig",
    "demo.apps.DemoConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "infrastructure.middleware.PermissionsPolicyMiddleware",
    # Header-only middleware before RequestGuard, so its 400/404/413 pages carry
    # the same security headers as every other page.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # NUL characters and over-long bodies are refused before anything reads them.
    "infrastructure.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crf.epro.middleware.TabletLockMiddleware",  # the clinic tablet's lock
    "django_otp.middleware.OTPMiddleware",
    # Keeps a form posted after the session expired (after the CSRF check,
    # before LoginRequiredMiddleware sends the user to log in).
    "perform.middleware.KeptSubmissionMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "perform.middleware.TwoFactorRequiredMiddleware",
    "perform.middleware.AuditContextMiddleware",
    # AxesMiddleware must be last (django-axes docs).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# The menus infrastructure.navigation shows, composed where all pages are known.
NAVIGATION_MENUS = "config.navigation"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "infrastructure.navigation.navigation",
                "perform.session_views.session_expiry",
            ],
        },
    },
]

# -----------------------------------------------------------------------------
# Database: PostgreSQL only (audit triggers and row locks rely on it)
# -----------------------------------------------------------------------------
# Two login roles (perform.database): the web server and workers connect as the
# application role (not a superuser, owns nothing, INSERT-only on audit tables);
# `manage.py migrate` runs with DATABASE_URL set to the owner role's URL, and
# grants DATABASE_APP_ROLE its privileges afterwards. `make run`/`make test`
# create both roles (scripts/services.py); README "Database roles".
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default="postgres://perform_app@127.0.0.1:5432/perform"
    )
}
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="perform_app")
# Tables that are the record besides pghistory's events and context: the
# application may insert and read them, never change, delete or truncate.
AUDIT_LOG_MODELS = [
    "admin.LogEntry",
    "outcomes.DataExportDownload",
    "outcomes.ReportDownload",
    "perform.RoleChange",
    "randomization.ListEvent",
]
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -----------------------------------------------------------------------------
# Authentication, sessions and lockout
# -----------------------------------------------------------------------------
AUTH_USER_MODEL = "perform.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend without the superuser shortcut (the system owner).
    "perform.backends.RoleModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# Idle expiry: the cookie is renewed on every request and dies after 30 min idle.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Pages warn this long before the idle expiry, with a "Stay signed in" button
# (static/js/session_expiry.js); a form posted after expiry is kept this long
# for its user to sign in again (perform.kept_submissions).
SESSION_WARNING_SECONDS = env.int("SESSION_WARNING_SECONDS", default=2 * 60)
PENDING_SUBMISSION_HOURS = env.int("PENDING_SUBMISSION_HOURS", default=24)

# django-axes: 5 failures for one username from one address lock it for 30 min.
# Locking on username+IP (not username alone) stops a stranger locking out a
# coordinator from elsewhere; an administrator can reset with `axes_reset`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# axes keeps each failed attempt's form data; it masks "password" only, and the
# two-factor log-in posts "auth-password" and the codes under other names.
AXES_SENSITIVE_PARAMETERS = [
    "auth-password",
    "token-otp_token",
    "backup-otp_token",
    "generator-token",
    "otp_token",
    "old_password",
    "new_password1",
    "new_password2",
]
# The username axes records, cut to the length its table holds (a login form
# without a length limit, such as the admin's, would otherwise be a 500).
AXES_USERNAME_CALLABLE = "perform.auth.lockout_username"

# Two-factor authentication (perform.mfa): required for Methods Centre,
# investigator, DSMB, administrator and system-owner accounts. The demo may
# switch the requirement off (`make run` does); every page then says so.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = "PERFORM trial"
TWO_FACTOR_LOGIN_TIMEOUT = 600  # seconds between the password and the code

# -----------------------------------------------------------------------------
# Security headers (all on whatever DEBUG is; HTTPS-only ones when DEBUG is off)
# -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = False  # the API schema page never reads it; forms post it
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# -----------------------------------------------------------------------------
# I18N, time: stored in UTC, shown in the site's time zone
# -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# -----------------------------------------------------------------------------
# Static files: Bootstrap is vendored under static/vendor (no CDN)
# -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The licensed instruments' wording (TESS, EQ-5D-5L, BPI): a JSON file the
# Methods Centre installs under licence, outside the repository
# (docs/instrument-wording.md). Empty: the forms show neutral labels.
INSTRUMENT_WORDING_FILE = env.str("INSTRUMENT_WORDING_FILE", default="")

# -----------------------------------------------------------------------------
# E-mail
# -----------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend"
    ),
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="perform@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails are built from this, never from the request Host.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Right-hand side of the fixed Message-ID of each outbox e-mail.
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default="perform.local")
# Outbox retries (infrastructure.outbox): wait BASE_SECONDS × 2^(attempt−1), at most
# MAX seconds, and give up (status failed, shown to the Methods Centre) after
# ATTEMPTS tries: with the defaults about 10 hours of SMTP outage.
EMAIL_RETRY = {
    "BASE_SECONDS": env.float("EMAIL_RETRY_BASE_SECONDS", default=30),
    "MAX": env.int("EMAIL_RETRY_MAX_SECONDS", default=3600),
    "ATTEMPTS": env.int("EMAIL_RETRY_ATTEMPTS", default=15),
}
# -----------------------------------------------------------------------------
# Celery (Redis broker). Without Redis, `make run` sets CELERY_TASK_ALWAYS_EAGER.
# -----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_RESULT_EXPIRES = timedelta(days=7)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# A task not acknowledged within this time (its worker was killed) is given to
# another worker. Every task that acknowledges late is idempotent, so a
# redelivery while the first run still goes on does no harm.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The periodic tasks live in django-celery-beat's tables (editable in the
# admin); crf/migrations/0004_periodic_tasks.py creates them.

# -----------------------------------------------------------------------------
# API
# -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "perform.api_tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["infrastructure.api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "infrastructure.api.common.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# API tokens (django-rest-knox, perform.api_tokens): hashed, one per client,
# expiring after API_TOKEN_IDLE_MINUTES without use and API_TOKEN_MAX_HOURS
# after issue whatever the use; revoked on logout, password change, lockout
# and deactivation.
KNOX_TOKEN_MODEL = "perform.ApiToken"  # noqa: S105 - a model name
REST_KNOX = {
    "TOKEN_TTL": timedelta(minutes=env.int("API_TOKEN_IDLE_MINUTES", default=60)),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(hours=env.int("API_TOKEN_MAX_HOURS", default=12)),
    "MIN_REFRESH_INTERVAL": 60,
    "AUTH_HEADER_PREFIX": "Token",
}
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=5)
# JSON bodies nested deeper than this are refused (400) before any view reads
# them; the deepest the API expects is 3 (a CRF's "fields" and their values).
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "PERFORM trial data platform API",
    "DESCRIPTION": "Site-scoped access to the PERFORM trial (NCT06863129).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "infrastructure.api.schema.error_responses_hook",
    ],
}

# -----------------------------------------------------------------------------
# Audit trail (django-pghistory): event tables are append-only (DB triggers)
# -----------------------------------------------------------------------------
PGHISTORY_APPEND_ONLY = True
# perform.database installs its INSERT-only _pgh_attach_context() after migrate.
PGHISTORY_INSTALL_CONTEXT_FUNC_ON_MIGRATE = False
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# NOW() for the application; a demo seeder running as the owner may stamp its
# simulated moments (perform.database.AUDIT_CLOCK_SQL, demo.clock).
PGHISTORY_CREATED_AT_FUNCTION = "perform_audit_clock()"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# The trial's own parameters (PROTOCOL §1, §4–6, §10–11): config/settings/trial.py.
from config.settings.epro import *  # noqa: E402,F403
from config.settings.trial import *  # noqa: E402,F403
