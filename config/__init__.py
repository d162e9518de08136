"""Project wiring: settings, URLconfs, the Celery app and the WSGI entry point.

The top floor with ``demo``: it composes the apps (URLs, menus, the API) and
may import any of them; no app imports it.
"""

from config.celery_app import app as celery_app

__all__ = ("celery_app",)
