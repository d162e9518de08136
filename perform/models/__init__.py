"""The trial core's tables (``core``) and who may do what (``access``).

Models hold tables and database constraints only; writes go through the
services and participant reads through ``perform.selectors``. pghistory's
generated event models (``ParticipantEvent``, ``UserGroupEvent``, ...) are
attributes of this package.
"""

from perform.models.access import (  # noqa: I001 - after core: it builds on User
    ApiToken,
    GroupPermissions,
    RoleChange,
    UserGroups,
    UserPermissions,
)
from perform.models.core import (
    ConsentRecord,
    EligibilityAnswer,
    EligibilityCriterion,
    FractureStatus,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    Sex,
    Site,
    SiteMembership,
    User,
    audited,
    validate_time_zone,
)
from perform.models.kept import PendingSubmission

__all__ = [
    "ApiToken",
    "ConsentRecord",
    "EligibilityAnswer",
    "EligibilityCriterion",
    "FractureStatus",
    "GroupPermissions",
    "Participant",
    "ParticipantStatus",
    "ParticipantStatusChange",
    "PendingSubmission",
    "RoleChange",
    "Sex",
    "Site",
    "SiteMembership",
    "User",
    "UserGroups",
    "UserPermissions",
    "audited",
    "validate_time_zone",
]
