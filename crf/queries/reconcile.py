"""Automatic queries: what an automatic check found (``Problem``) and how the
findings are reconciled with the automatic queries in the database
(``reconcile``), as ``crf.queries.automatic`` describes. One open query per
problem, keyed by what it is about (``anchor_key``): a check on an entered
form, or on a visit's form (participant and visit) when the form has no id
yet (an overdue visit's query, ``DataQuery.visit``).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crf.models import UNRESOLVED_QUERY_STATUSES, DataQuery, QueryMessage
from perform.services import audit_context

UNRESOLVED = UNRESOLVED_QUERY_STATUSES
# Serialises concurrent runs (a beat run and one after a save): each run sees
# the queries the other made, so nothing is raised twice.
_ADVISORY_LOCK_KEY = 740_211_001


def anchor_key(form_type_id, form_id, participant_id, visit, check_code) -> tuple:
    """What one automatic query is about: a check on an entered form, or on a
    visit's form (participant and visit) when there is no form id."""
    if form_id is None:
        return (form_type_id, participant_id, visit, check_code)
    return (form_type_id, form_id, check_code)


@dataclass(frozen=True)
class Problem:
    form_type_id: int
    form_id: int | None
    check_code: str
    participant_id: int
    field_name: str
    text: str
    # The visit of a per-visit form ("" for other forms).
    visit: str = ""

    @property
    def key(self) -> tuple:
        return anchor_key(
            self.form_type_id,
            self.form_id,
            self.participant_id,
            self.visit,
            self.check_code,
        )


def automatic_checks_lock() -> None:
    """Serialise the runs of the automatic checks (call inside a transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def reconcile(found: list[Problem], codes_q: Q, participant_ids) -> dict[str, int]:
    """Raise a query for each problem found that has none (and that the data
    manager did not accept), close the unresolved automatic queries of
    ``codes_q`` whose problem is gone. Call under the advisory lock."""
    problems = {p.key: p for p in found}
    accepted_by_person = QueryMessage.objects.filter(
        query=OuterRef("pk"), action=QueryMessage.Action.CLOSED, by__isnull=False
    )
    existing = DataQuery.objects.filter(codes_q)
    if participant_ids is not None:
        existing = existing.filter(participant_id__in=participant_ids)
    existing = existing.annotate(accepted=Exists(accepted_by_person))
    unresolved: dict[tuple, int] = {}
    accepted: set[tuple] = set()
    rows = existing.values_list(
        "pk",
        "form_type_id",
        "form_id",
        "participant_id",
        "visit",
        "check_code",
        "status",
        "accepted",
    )
    for pk, *anchor, status, was_accepted in rows:
        key = anchor_key(*anchor)  # the anchor's fields in ``anchor_key``'s order
        if status in UNRESOLVED:
            unresolved[key] = pk
        elif was_accepted:
            accepted.add(key)
    to_raise = [
        p
        for key, p in problems.items()
        if key not in unresolved and key not in accepted
    ]
    to_close = [pk for key, pk in unresolved.items() if key not in problems]
    with audit_context(actor=None, reason="Automatic data check"):
        if to_raise:
            created = DataQuery.objects.bulk_create(
                DataQuery(
                    participant_id=p.participant_id,
                    form_type_id=p.form_type_id,
                    form_id=p.form_id,
                    visit=p.visit,
                    field_name=p.field_name,
                    text=p.text,
                    check_code=p.check_code,
                )
                for p in to_raise
            )
            QueryMessage.objects.bulk_create(
                QueryMessage(query=q, action=QueryMessage.Action.RAISED, text=q.text)
                for q in created
            )
        if to_close:
            DataQuery.objects.filter(pk__in=to_close).update(
                status=DataQuery.Status.CLOSED, closed_at=timezone.now()
            )
            QueryMessage.objects.bulk_create(
                QueryMessage(
                    query_id=pk,
                    action=QueryMessage.Action.CLOSED,
                    text="Resolved: the automatic check no longer finds this problem.",
                )
                for pk in to_close
            )
    return {"raised": len(to_raise), "closed": len(to_close)}
