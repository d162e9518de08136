"""PERFORM trial platform: project package and trial core.

Holds settings, URLs, the Celery app, and the core: sites, participants, roles.
"""

from perform.celery import app as celery_app

__all__ = ("celery_app",)
