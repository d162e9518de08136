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

from perform.settings import *  # noqa: E402,F403

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

# Serve static files from the app/static finders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Report files of this test process (workers started by the tests inherit it).
REPORTS_ROOT = os.environ.get(
    "REPORTS_ROOT",
    f"/tmp/perform-test-reports-{os.getpid()}",  # noqa: S108
)
