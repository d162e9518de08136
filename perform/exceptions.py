"""Domain errors, phrased for a site coordinator. Views and the API turn them
into a form error or a 4xx JSON body."""


class TrialError(Exception):
    """Base class: a request the trial rules do not allow."""

    code = "trial_error"

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(TrialError):
    code = "invalid_transition"


class SiteNotAllowed(TrialError):
    code = "site_not_allowed"


class NotEligible(TrialError):
    code = "not_eligible"
