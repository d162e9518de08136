"""WSGI entry point (gunicorn config.wsgi).

The application is not created when the static files manifest is missing
(``infrastructure.checks``): gunicorn then fails to boot with that message, instead
of serving a 500 on every page.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()

from infrastructure.checks import FIX_HINT, static_manifest_problem  # noqa: E402 - after setup

if problem := static_manifest_problem():
    raise ImproperlyConfigured(f"{problem} {FIX_HINT}")
