"""The two kinds of refusal every app's domain errors derive from, so the API
and the pages can answer them without knowing the apps (``perform.exceptions``
and each app's ``exceptions`` subclass them).

* ``DomainError``: a request the rules do not allow, phrased for its user; with
  a ``field`` it belongs next to that field. The API answers 400.
* ``Conflict``: a write the current state refuses (a lifecycle transition the
  protocol forbids, a locked form). The API answers 409 ``{"detail", "code"}``.
"""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(DomainError):
    code = "conflict"
