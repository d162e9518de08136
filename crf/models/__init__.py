"""Case report forms (PROTOCOL §7), one module per domain.

Every form shares ``CrfForm``: draft → complete → signed, plus a lock held by
the Methods Centre. Item fields are nullable so drafts can be saved; what a
*complete* form needs is stated by each model's ``required_when_complete`` and
checked by its form and service. All tables are audited by pghistory.
"""

from crf.models.base import CrfAccess, CrfForm, FormStatus
from crf.models.clinical import Baseline, Discharge, FollowUp, Operative
from crf.models.events import (
    AdverseEvent,
    Death,
    LocalRecurrence,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)
from crf.models.notifications import SafetyAlert, VisitReminder
from crf.models.queries import DataQuery, QueryMessage

__all__ = [
    "AdverseEvent",
    "Baseline",
    "CrfAccess",
    "DataQuery",
    "CrfForm",
    "Death",
    "Discharge",
    "FollowUp",
    "FormStatus",
    "LocalRecurrence",
    "Operative",
    "ProtocolDeviation",
    "QueryMessage",
    "Reoperation",
    "SafetyAlert",
    "VisitReminder",
    "Withdrawal",
]
