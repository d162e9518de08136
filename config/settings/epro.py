"""Patient-reported outcomes (PROTOCOL §13): languages, invitations, reminders,
text messages and the rate limit on survey links. Imported at the end of
``config.settings.base``; the Methods Centre may change these before go-live."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# The platform's own text exists in these languages (Django i18n, locale/);
# staff pages are in English, a participant's survey and messages in the
# language recorded with their contact preferences.
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]

EPRO = {
    # PROTOCOL §13: up to 3 reminders, 3 days apart (counted from the
    # invitation, in the site's calendar days).
    "REMINDER_COUNT": env.int("EPRO_REMINDER_COUNT", default=3),
    "REMINDER_SPACING_DAYS": env.int("EPRO_REMINDER_SPACING_DAYS", default=3),
    # Wrong survey links answered from one address before it must wait.
    "LINK_GUESSES": env.str("EPRO_LINK_GUESSES", default="20/h"),
    # The visits whose questionnaires the participant answers (PROTOCOL §13);
    # "bl" is the baseline (clinic tablet or paper, before surgery).
    "BASELINE_VISIT": "bl",
}

# Text messages (crf.epro and infrastructure.sms): the backend sends one
# message; "console" prints it, "file" writes it under SMS_FILE_PATH (the
# development and test backends), "twilio" is the real provider's adapter
# (docs/epro.md says how to configure it).
SMS_BACKEND = env.str("SMS_BACKEND", default="infrastructure.sms.FileBackend")
SMS_FILE_PATH = env.path("SMS_FILE_PATH", default=BASE_DIR / "var" / "sms")
SMS_TWILIO = {
    "ACCOUNT_SID": env.str("TWILIO_ACCOUNT_SID", default=""),
    "AUTH_TOKEN": env.str("TWILIO_AUTH_TOKEN", default=""),
    "FROM": env.str("TWILIO_FROM", default=""),
}

# django-ratelimit counts wrong survey links in this cache (Redis, shared by
# every web process, so the limit holds whichever process answers).
RATELIMIT_USE_CACHE = "ratelimit"
# django-ratelimit lists only django-redis among Redis caches; Django's own
# RedisCache increments with Redis INCRBY after ``add`` created the key, which
# is what the limit needs (a counter that every web process shares).
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
RATELIMIT_VIEW = "crf.epro.views.link_rate_limited"

# The default cache stays in process memory (nothing shared depends on it); the
# rate limit's counters live in Redis, with a prefix per deployment.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": env.str("RATELIMIT_KEY_PREFIX", default="perform"),
    },
}
