"""Settings for the test suite: the real settings with test-only defaults.

Tests run against real PostgreSQL and Redis (DATABASE_URL / REDIS_URL, set by
``make test``); only speed knobs and the outgoing-mail backend differ.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-" + "k3y" * 20)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Off for the suite (tests log in with force_login); the two-factor tests turn
# it on (tests/perform/test_two_factor.py, tests/e2e/test_two_factor_journey.py).
os.environ.setdefault("TWO_FACTOR_REQUIRED", "false")

from config.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
# In-memory mail, except in a worker started by the tests with a real SMTP
# server to talk to (tests/workers.py sets EMAIL_BACKEND for it).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
SECURE_HSTS_SECONDS = 0

# One test database per pytest process, so parallel runs (several developers or
# CI jobs on one PostgreSQL) never drop each other's database. pytest-django
# drops it at the end of the session.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": os.environ.get("TEST_DATABASE_NAME", f"test_perform_{os.getpid()}")
}

# The test database is created and migrated as the owner role, then the tests
# run as the application role (tests/dbsupport/roles.py); the owner flushes it
# after transactional tests (tests/dbsupport's flush command).
_owner = (
    env.db_url("DATABASE_OWNER_URL")  # noqa: F405
    if os.environ.get("DATABASE_OWNER_URL")
    else DATABASES["default"]  # noqa: F405
)
DATABASE_ROLES = {
    "app": {
        "USER": DATABASES["default"]["USER"],  # noqa: F405
        "PASSWORD": DATABASES["default"]["PASSWORD"],  # noqa: F405
    },
    "owner": {"USER": _owner.get("USER", ""), "PASSWORD": _owner.get("PASSWORD", "")},
}
INSTALLED_APPS = ["tests.dbsupport", *INSTALLED_APPS]  # noqa: F405

# Serve static files from the app/static finders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Report files of this test process (workers started by the tests inherit it).
REPORTS_ROOT = os.environ.get(
    "REPORTS_ROOT",
    f"/tmp/perform-test-reports-{os.getpid()}",  # noqa: S108
)

# Rate-limit counters and text messages of this test process alone.
CACHES["ratelimit"]["KEY_PREFIX"] = f"test-{os.getpid()}"  # noqa: F405
SMS_FILE_PATH = os.environ.get(
    "SMS_FILE_PATH",
    f"/tmp/perform-test-sms-{os.getpid()}",  # noqa: S108
)
