"""Domain errors, phrased for a site coordinator. Views and the API turn them
into a form error or a 4xx JSON body (``infrastructure.errors``)."""

from infrastructure.errors import Conflict, DomainError


class TrialError(DomainError):
    """Base class: a request the trial rules do not allow."""

    code = "trial_error"


class InvalidTransition(TrialError, Conflict):
    code = "invalid_transition"


class SiteNotAllowed(TrialError):
    code = "site_not_allowed"


class NotEligible(TrialError):
    code = "not_eligible"
