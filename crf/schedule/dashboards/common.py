"""What both dashboards share: the user's participant scope (through
``perform.selectors.participants_for``)."""

from django.db.models import QuerySet

from perform.models import Participant
from perform.selectors import participants_for


def scoped(user, site_code: str | None) -> QuerySet[Participant]:
    """The participants in ``user``'s scope, at ``site_code`` if given."""
    qs = participants_for(user)
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    return qs
