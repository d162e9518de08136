"""Which participants the record status grid lists (``grid``): those in the
user's scope (through ``perform.selectors.participants_for``), filtered by
site, part of the study ID and a status, ordered by study ID; the database
applies every filter over the whole scope, and returns the ids in one query
(two with a filter on visits: the sites' dates first).
"""

import datetime

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from crf.forms.registry import FORMS
from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery, FormStatus
from crf.schedule import visits as schedule
from crf.schedule.dashboards.common import scoped
from crf.schedule.sql import site_days, visit_rows_sql
from perform.models import Participant

# The status filter: participants with at least one of ...
HAS_OVERDUE, HAS_DUE, HAS_DRAFT, HAS_QUERY, NOT_SIGNED = (
    "overdue",
    "due",
    "draft",
    "query",
    "not_signed",
)
STATUS_FILTERS = [
    (HAS_OVERDUE, "Has an overdue visit"),
    (HAS_DUE, "Has a visit due"),
    (HAS_DRAFT, "Has a draft form"),
    (HAS_QUERY, "Has an open query"),
    (NOT_SIGNED, "Has complete forms not signed"),
]


def grid_participant_ids(
    *,
    user,
    site_code: str | None = None,
    status: str | None = None,
    search: str | None = None,
    now: datetime.datetime | None = None,
) -> list[int]:
    """The ids of the grid's participants in ``user``'s scope (through
    ``perform.selectors.participants_for``), by study ID: at ``site_code``,
    with a study ID containing ``search``, and having ``status`` (one of
    ``STATUS_FILTERS``; anything else is no filter).

    One query (two with a visit filter: the sites' dates). The ids, not a
    lazy queryset for the paginator to count and then slice: a filter on
    visits computes every visit of the scope, and this way it does so once
    (a few thousand integers cost less than running it twice)."""
    return list(
        grid_participants(
            user=user, site_code=site_code, status=status, search=search, now=now
        ).values_list("pk", flat=True)
    )


def grid_participants(
    *,
    user,
    site_code: str | None = None,
    status: str | None = None,
    search: str | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[Participant]:
    """The participants of ``grid_participant_ids``, as a lazy queryset."""
    participants = scoped(user, site_code)
    if search:
        participants = participants.filter(study_id__icontains=search.strip())
    if status in (HAS_OVERDUE, HAS_DUE):
        days = site_days(participants, now=now)
        visits, params = visit_rows_sql(participants, days)
        state = schedule.OVERDUE if status == HAS_OVERDUE else schedule.DUE
        # The SQL is this module's and crf.schedule.sql's; values are parameters.
        having = RawSQL(  # noqa: S611
            f"SELECT v.participant_id FROM ({visits}) AS v WHERE v.state = %s",
            [*params, state],
        )
        participants = participants.filter(pk__in=having)
    elif status in (HAS_DRAFT, NOT_SIGNED):
        wanted = FormStatus.DRAFT if status == HAS_DRAFT else FormStatus.COMPLETE
        having = Q()
        for spec in FORMS.values():
            ids = spec.model.objects.filter(status=wanted).values("participant_id")
            having |= Q(pk__in=ids)
        participants = participants.filter(having)
    elif status == HAS_QUERY:
        participants = participants.filter(
            pk__in=DataQuery.objects.filter(
                status__in=UNRESOLVED_QUERY_STATUSES
            ).values("participant_id")
        )
    return participants.order_by("study_id")
