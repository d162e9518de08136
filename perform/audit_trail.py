"""Reads of the audit trail (pghistory's event tables) for the pages: who,
when, which record, old → new and the reason (``perform.audit_records`` turns
what is read into entries to show).

One selector, ``audit_trail``, serves the participant's audit page, the
"Recent changes" of the participant page, the audit page of one form and the
CSV export of either. It returns an ``AuditTrail``: newest first, filtered by
record type, user and site-local dates, sized and sliceable, so Django's
paginator pages it with a fixed number of queries however long it is.

Hand-written SQL rather than pghistory's aggregate ``Events`` model: that
builds every event's full row and JSON diff (a correlated subquery per event)
before it sorts and pages, about a second for a participant with a few
hundred changes to forms of 100 columns. Here the events are first sorted and
paged on their light columns (table, id, time), then only the page's rows and
the rows before them are read, and the diffs computed in Python, as pghistory
computes them (columns present before and after whose values differ).

Arms of allocations stay concealed: ``randomization.Slot``'s events are never
read (the randomization shows as the participant's status change; the slot's
own audit rows are kept for the statisticians).
"""

import datetime
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, models
from pghistory import core as pghistory_core
from pghistory import utils as pghistory_utils
from pghistory.models import Context

from perform.audit_records import (  # noqa: F401 - the trail's public names
    EMPTY,
    AuditChange,
    AuditEntry,
    AuditLabels,
    AuditRecordKind,
    audit_entries,
    audit_record_kind_register,
    kind_of,
)
from perform.models import Participant

# Never listed (see the module docstring).
CONCEALED_MODELS = {"randomization.Slot"}
SYSTEM = "system"


@functools.cache
def _participant_event_models() -> dict[str, type]:
    """Tracked model label -> its event model, for every tracked model whose
    rows reference a participant (concealed ones left out)."""
    found = {}
    for event_model in pghistory_core.event_models(references_model=Participant):
        label = event_model.pgh_tracked_model._meta.label
        if label not in CONCEALED_MODELS:
            found[label] = event_model
    return found


def _visible(label: str, viewer, participant) -> bool:
    """Whether ``viewer`` may see the records of kind ``label`` of
    ``participant`` (a kind restricted by ``visible_to`` is hidden when no
    viewer is named)."""
    rule = kind_of(label).visible_to
    return rule is None or (viewer is not None and rule(viewer, participant))


def audit_record_kinds(viewer=None, participant=None) -> list[tuple[str, str]]:
    """(tracked model label, label) of every record type a participant's
    trail may hold, in the registered order: the record-type filter (those
    ``viewer`` may see of ``participant``, when both are given)."""
    labels = sorted(
        (
            label
            for label in _participant_event_models()
            if participant is None or _visible(label, viewer, participant)
        ),
        key=lambda label: (kind_of(label).order, kind_of(label).label),
    )
    return [(label, kind_of(label).label) for label in labels]


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page is asked to show: record types (tracked model
    labels; empty: all), one user (a user id, or ``SYSTEM`` for changes made
    by no user), and site-local dates from/to, both included."""

    kinds: tuple[str, ...] = ()
    user: int | str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


@dataclass(frozen=True)
class _Source:
    """One event table to read: its tracked model's label, the table, and the
    WHERE clause (on alias ``e``, the event; ``c``, its context) with its
    parameters."""

    label: str
    table: str
    where: str
    params: tuple


class AuditTrail:
    """A participant's (or one record's) audit entries, newest first: sized
    (``count()``) and sliceable (``trail[0:50]`` is a list of entries), so
    ``django.core.paginator.Paginator`` pages it: a COUNT, one query for the
    page's keys, one for their rows, and one per kind of name shown."""

    def __init__(self, sources: list[_Source], *, zone: ZoneInfo):
        self._sources = sources
        self.zone = zone

    def _keys_sql(self, columns: str) -> tuple[str, list]:
        parts, params = [], []
        for source in self._sources:
            parts.append(
                f"SELECT %s AS label, {columns} FROM {source.table} e "  # noqa: S608 - names from the models
                f"LEFT JOIN {Context._meta.db_table} c ON c.id = e.pgh_context_id "
                f"WHERE {source.where}"
            )
            params += [source.label, *source.params]
        return " UNION ALL ".join(parts), params

    def count(self) -> int:
        if not self._sources:
            return 0
        sql, params = self._keys_sql("e.pgh_id")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS t", params)  # noqa: S608 - names from the models
            return cursor.fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    def users(self) -> list[tuple[int, str]]:
        """(user id, username) of everyone with an entry, by username."""
        if not self._sources:
            return []
        sql, params = self._keys_sql(
            "c.metadata->>'user' AS user_id, c.metadata->>'username' AS username"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT user_id, username FROM ({sql}) AS t "  # noqa: S608 - names from the models
                "WHERE user_id IS NOT NULL",
                params,
            )
            rows = cursor.fetchall()
        users = {int(pk): username or f"user {pk}" for pk, username in rows}
        return sorted(users.items(), key=lambda item: item[1].lower())

    def __getitem__(self, key: slice) -> list[AuditEntry]:
        if not isinstance(key, slice) or key.step is not None:
            raise TypeError("An audit trail is read by slices.")
        start = key.start or 0
        if not self._sources or (key.stop is not None and key.stop <= start):
            return []
        sql, params = self._keys_sql("e.pgh_id, e.pgh_created_at")
        limit = "ALL" if key.stop is None else str(int(key.stop - start))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT label, pgh_id FROM ({sql}) AS t "  # noqa: S608 - names from the models
                "ORDER BY pgh_created_at DESC, label, pgh_id DESC "
                f"LIMIT {limit} OFFSET %s",
                [*params, int(start)],
            )
            keys = cursor.fetchall()
        return audit_entries(self._rows(keys), zone=self.zone)

    def _rows(self, keys: list[tuple[str, int]]) -> list[dict]:
        """The events named by ``keys`` (label, pgh_id), in that order, as
        rows for ``audit_entries``: one query for them and, for the diffs, the
        event before each (found by LAG over its record's event ids: a
        correlated "previous event" subquery walks the table's primary key
        instead, and LAG over full rows builds every version's JSON)."""
        if not keys:
            return []
        wanted: dict[str, list[int]] = {}
        for label, pgh_id in keys:
            wanted.setdefault(label, []).append(pgh_id)
        tables = {source.label: source.table for source in self._sources}
        parts, params = [], []
        for label, ids in wanted.items():
            table = tables[label]
            # Each event with the one before it of the same record: LAG over
            # the light columns of that record's events (the pgh_obj_id
            # index), then the two full rows by primary key.
            parts.append(
                "SELECT %s AS label, e.pgh_id, e.pgh_created_at, e.pgh_label, "  # noqa: S608 - names from the models
                "e.pgh_obj_id::text, to_jsonb(e), c.metadata, to_jsonb(p) FROM ("
                " SELECT pgh_id, LAG(pgh_id) OVER ("
                "  PARTITION BY pgh_obj_id ORDER BY pgh_id) AS previous_id"
                f" FROM {table} WHERE pgh_obj_id IN ("
                f"  SELECT pgh_obj_id FROM {table} WHERE pgh_id = ANY(%s))"
                f") AS k JOIN {table} e ON e.pgh_id = k.pgh_id "
                f"LEFT JOIN {table} p ON p.pgh_id = k.previous_id "
                f"LEFT JOIN {Context._meta.db_table} c ON c.id = e.pgh_context_id "
                "WHERE k.pgh_id = ANY(%s)"
            )
            params += [label, ids, ids]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found = {(row[0], row[1]): row for row in cursor.fetchall()}
        return [_event_row(*found[key]) for key in keys if key in found]

    def __iter__(self) -> Iterator[AuditEntry]:
        """Every entry, a chunk at a time (for the CSV export)."""
        chunk, start = 500, 0
        while True:
            entries = self[start : start + chunk]
            yield from entries
            if len(entries) < chunk:
                return
            start += chunk


def _event_row(label, _pgh_id, at, action, obj_id, data, context, previous) -> dict:
    """One event as ``audit_entries`` reads it; its diff as pghistory's
    ``Events.pgh_diff``: the columns in both rows whose values differ."""
    # Django's PostgreSQL backend hands jsonb over as text (JSONField decodes).
    data, context, previous = (
        json.loads(value) if isinstance(value, str) else value
        for value in (data, context, previous)
    )
    data = {k: v for k, v in data.items() if not k.startswith("pgh_")}
    diff = None
    if previous is not None:
        diff = {
            name: [previous[name], value]
            for name, value in data.items()
            if name in previous and previous[name] != value
        }
    return {
        "pgh_created_at": at,
        "pgh_label": action,
        "pgh_obj_model": label,
        "pgh_obj_id": obj_id,
        "pgh_data": data,
        "pgh_diff": diff,
        "pgh_context": context,
    }


def _local_midnight(day: datetime.date, zone: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=zone)


def _filters_sql(filters: AuditFilters, zone: ZoneInfo) -> tuple[str, tuple]:
    clauses, params = [], []
    if filters.user == SYSTEM:
        clauses.append("(c.metadata IS NULL OR c.metadata->'user' IS NULL)")
    elif filters.user is not None:
        clauses.append("c.metadata->>'user' = %s")
        params.append(str(filters.user))
    if filters.date_from is not None:
        clauses.append("e.pgh_created_at >= %s")
        params.append(_local_midnight(filters.date_from, zone))
    if filters.date_to is not None:
        clauses.append("e.pgh_created_at < %s")
        next_day = filters.date_to + datetime.timedelta(days=1)
        params.append(_local_midnight(next_day, zone))
    return "".join(f" AND {clause}" for clause in clauses), tuple(params)


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def audit_trail(
    *,
    participant: Participant,
    record: models.Model | None = None,
    filters: AuditFilters | None = None,
    viewer=None,
) -> AuditTrail:
    """The audit trail of ``participant`` (every record that references them),
    or of one of their records (``record``: a form), filtered.

    ``participant`` must come from the site-scoped selectors (the caller is in
    scope; its site is read for the time zone), and ``record`` must be theirs.
    Record kinds restricted to some users (``AuditRecordKind.visible_to``:
    contact details) are left out unless ``viewer`` is one of them.
    """
    filters = filters or AuditFilters()
    zone = ZoneInfo(participant.site.time_zone)
    extra, extra_params = _filters_sql(filters, zone)
    event_models = _participant_event_models()
    sources = []
    if record is not None:
        label = record._meta.concrete_model._meta.label
        if label in event_models and _visible(label, viewer, participant):
            sources.append(
                _Source(
                    label,
                    _quoted(event_models[label]._meta.db_table),
                    "e.pgh_obj_id = %s" + extra,
                    (record.pk, *extra_params),
                )
            )
    else:
        for label, event_model in event_models.items():
            if filters.kinds and label not in filters.kinds:
                continue
            if not _visible(label, viewer, participant):
                continue
            columns = [
                field.column
                for field in event_model._meta.fields
                if pghistory_utils.related_model(field) == Participant
            ]
            where = " OR ".join(f"e.{_quoted(column)} = %s" for column in columns)
            sources.append(
                _Source(
                    label,
                    _quoted(event_model._meta.db_table),
                    f"({where})" + extra,
                    (*[participant.pk] * len(columns), *extra_params),
                )
            )
    return AuditTrail(sources, zone=zone)


def audit_trail_users(
    *, participant: Participant, record: models.Model | None = None, viewer=None
) -> list[tuple[int, str]]:
    """(user id, username) of everyone with an entry in the trail, by
    username, for the user filter: one query."""
    return audit_trail(participant=participant, record=record, viewer=viewer).users()


def participant_audit_history(participant: Participant) -> list[AuditEntry]:
    """Every entry of ``participant``'s trail, oldest first (scripts and
    checks that read the whole history)."""
    return list(reversed(list(audit_trail(participant=participant))))
