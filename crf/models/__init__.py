"""Case report forms (PROTOCOL §7), one module per domain.

Every form shares ``CrfForm``: draft → complete → signed, plus a lock held by
the Methods Centre. Item fields are nullable so drafts can be saved; what a
*complete* form needs is stated by each model's ``required_when_complete`` and
checked by its form and service. All tables are audited by pghistory.
"""

from crf.models.base import (
    COMPLETE_STATUSES,
    CrfAccess,
    CrfForm,
    FormStatus,
    MissingCode,
)
from crf.models.clinical import Baseline, Discharge, FollowUp, Operative
from crf.models.epro import (
    Channel,
    ContactPreference,
    PromResponse,
    Respondent,
    ResponseMode,
    SurveyInvitation,
    SurveyReminder,
)
from crf.models.events import (
    AdverseEvent,
    Death,
    LocalRecurrence,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)
from crf.models.notifications import SafetyAlert, VisitReminder
from crf.models.queries import UNRESOLVED_QUERY_STATUSES, DataQuery, QueryMessage

__all__ = [
    "COMPLETE_STATUSES",
    "UNRESOLVED_QUERY_STATUSES",
    "AdverseEvent",
    "Channel",
    "ContactPreference",
    "PromResponse",
    "Respondent",
    "ResponseMode",
    "SurveyInvitation",
    "SurveyReminder",
    "Baseline",
    "CrfAccess",
    "DataQuery",
    "CrfForm",
    "Death",
    "Discharge",
    "FollowUp",
    "FormStatus",
    "LocalRecurrence",
    "MissingCode",
    "Operative",
    "ProtocolDeviation",
    "QueryMessage",
    "Reoperation",
    "SafetyAlert",
    "VisitReminder",
    "Withdrawal",
]
