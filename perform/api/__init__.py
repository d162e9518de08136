"""JSON API v1 for the trial core: thin DRF views over the same selectors and
services as the web pages.

Django's ``LoginRequiredMiddleware`` leaves these views alone: DRF (3.15+)
sets ``login_required = False`` on every ``APIView.as_view()``, the same mark
``login_not_required`` gives. DRF then authenticates the request itself (token
or session) and answers 401/403 as JSON instead of redirecting to the login
page; ``tests/perform/test_api.py`` guards this for every endpoint. Site scope
comes from ``perform.selectors``; another site's participant is a 404, never a
403.

Status codes: 400 invalid input (``{"field": ["message"]}``, non-field errors
under ``non_field_errors``), 401 no or bad credentials, 403 the caller's role
lacks the permission, 404 not found or outside the caller's scope, 409 a
lifecycle transition the protocol forbids, or a write the current state refuses
(``{"detail", "code"}``: e.g. a clinical form before randomization, a locked
form; see ``crf.forms.api``), 429 login locked out by django-axes.
"""

from infrastructure.api.common import exception_handler

__all__ = ["exception_handler"]
