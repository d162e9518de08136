"""What both dashboards share: the user's participant scope (through
``perform.selectors.participants_for``) and quoting of table names."""

from django.db.models import QuerySet

from crf.models import DataQuery
from perform.models import Participant
from perform.selectors import participants_for

OPEN_QUERY_STATUSES = (DataQuery.Status.OPEN, DataQuery.Status.ANSWERED)


def scoped(user, site_code: str | None) -> QuerySet[Participant]:
    """The participants in ``user``'s scope, at ``site_code`` if given."""
    qs = participants_for(user)
    if site_code:
        qs = qs.filter(site__code=site_code.upper())
    return qs


def table(model) -> str:
    return f'"{model._meta.db_table}"'
