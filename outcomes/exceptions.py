"""Domain errors of the DSMB reports' release (``outcomes.release``), in words
the statistician understands. Views show them on the report page; the state
errors are ``Conflict``s (409 in an API)."""

from infrastructure.errors import Conflict
from perform.exceptions import TrialError


class ReportError(TrialError):
    code = "report_error"


class ReportNotReady(ReportError, Conflict):
    code = "report_not_ready"


class ReportAlreadyReleased(ReportError, Conflict):
    code = "report_already_released"


class ReportNotReleased(ReportError, Conflict):
    code = "report_not_released"


class ReportAlreadyWithdrawn(ReportError, Conflict):
    code = "report_already_withdrawn"


class TextRequired(ReportError):
    """A release note, withdrawal reason or recommendation left empty;
    ``field`` names the form field."""

    code = "text_required"
