"""How the audit trail shows what it read (``perform.audit_trail`` reads
it): each record named in words, each field by its label, old and new values
as the form shows them (choice labels, Yes/No, ∅ for empty), the user and the
reason.

Records are named by the app that owns them: the core names its own
(screening, status changes, eligibility answers, consent) here; the apps above
it register theirs (``audit_record_kind_register``, from ``AppConfig.ready``,
as ``perform.panels`` does for the participant page), since the core cannot
import them. A tracked model nobody registered is named by its verbose name.
"""

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.text import capfirst

from perform.models import EligibilityCriterion, Site, User

ACTIONS = {"insert": "Created", "update": "Changed", "delete": "Deleted"}
EMPTY = "∅"


@dataclass(frozen=True)
class AuditChange:
    """One field of an audited change: its stored name, its label, and the
    old and new values as the form shows them (``None``: empty)."""

    name: str
    label: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class AuditEntry:
    """One audited change, ready to show: who, when, what, old → new, why."""

    at: datetime.datetime
    username: str
    action: str  # insert, update or delete (pghistory's label)
    kind: str  # the tracked model's label: "crf.Baseline"
    model: str  # its class name: "Baseline"
    object_id: str
    record: str  # the record in words: "Follow-up visit: 6 weeks"
    changes: list[AuditChange]
    reason: str

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)


class AuditLabels:
    """Names of the rows that event data points at (users, sites, criteria,
    content types), fetched in one query per kind of row for a page of
    entries; record describers read them too."""

    # Related model -> the attribute shown for one of its rows.
    SHOWN = {User: "username", Site: "code", EligibilityCriterion: "text"}

    def __init__(self, wanted: dict[type, set]):
        self._names: dict[type, dict] = {}
        for model, ids in wanted.items():
            if not ids:
                continue
            if model is ContentType:
                rows = model.objects.filter(pk__in=ids).values_list(
                    "pk", "app_label", "model"
                )
                self._names[model] = {pk: f"{app}.{name}" for pk, app, name in rows}
            else:
                self._names[model] = dict(
                    model.objects.filter(pk__in=ids).values_list(
                        "pk", self.SHOWN[model]
                    )
                )

    def name(self, model: type, pk) -> Any:
        return self._names.get(model, {}).get(pk, pk)


@dataclass(frozen=True)
class AuditRecordKind:
    """How the audit trail names the records of one tracked model (its label,
    ``"crf.FollowUp"``): ``label`` for the record-type filter and, unless
    ``describe(data, object_id, labels)`` says more, for each entry
    (``data``: the row's stored values in the event)."""

    model: str
    label: str
    describe: Callable[[dict, str, AuditLabels], str] | None = None
    order: int = 100
    # Who made a change recorded with no user (``data``: the row's values),
    # e.g. a participant answering a questionnaire; else "system".
    who: Callable[[dict], str | None] | None = None
    # Whether ``viewer`` may see these records of ``participant`` at all
    # (contact details: the participant's site staff only); ``None``: anyone
    # who sees the participant's trail.
    visible_to: Callable[[Any, Any], bool] | None = None


_kinds: dict[str, AuditRecordKind] = {}


def audit_record_kind_register(kind: AuditRecordKind) -> None:
    _kinds[kind.model] = kind


# Bookkeeping and keys the entry states otherwise: they change with every save
# (version, updated_*), repeat the entry's own user and time (created_*), or
# are internal ids (id, participant).
HIDDEN_FIELDS = {
    "id",
    "participant_id",
    "password",
    "last_login",
    "version",
    "created_at",
    "created_by_id",
    "updated_at",
    "updated_by_id",
}


def _criterion_answer(data: dict, _object_id: str, labels: AuditLabels) -> str:
    text = labels.name(EligibilityCriterion, data.get("criterion_id"))
    return f"Eligibility: {text}"


for _kind in (
    AuditRecordKind("perform.Participant", "Screening", order=10),
    AuditRecordKind(
        "perform.EligibilityAnswer", "Eligibility", _criterion_answer, order=11
    ),
    AuditRecordKind("perform.ConsentRecord", "Consent", order=12),
    AuditRecordKind("perform.ParticipantStatusChange", "Status change", order=13),
):
    audit_record_kind_register(_kind)


def kind_of(label: str) -> AuditRecordKind:
    kind = _kinds.get(label)
    if kind is None:
        model = apps.get_model(label)
        kind = AuditRecordKind(label, capfirst(model._meta.verbose_name), order=900)
    return kind


@functools.cache
def fields_of(label: str) -> dict[str, models.Field]:
    """Stored column name (``criterion_id``) -> field of tracked model ``label``."""
    return {f.attname: f for f in apps.get_model(label)._meta.concrete_fields}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _labels_for(rows: list[dict]) -> AuditLabels:
    """The names the rows' foreign keys need, one query per related model."""
    wanted: dict[type, set] = {}
    for row in rows:
        fields = fields_of(row["pgh_obj_model"])
        for source in (row["pgh_data"] or {}, row["pgh_diff"] or {}):
            for name, value in source.items():
                field = fields.get(name)
                related = field.related_model if field and field.is_relation else None
                if related in AuditLabels.SHOWN or related is ContentType:
                    wanted.setdefault(related, set()).update(
                        v for v in _as_list(value) if v is not None
                    )
    return AuditLabels(wanted)


def _shown(
    field: models.Field | None,
    value,
    labels: AuditLabels,
    zone: ZoneInfo,
    fields: dict[str, models.Field] | None = None,
) -> str | None:
    """``value`` (as stored in the event's JSON) as the form shows it; a
    mapping keyed by the record's field names (a CRF's missing-data codes) as
    "Field label: value" pairs, an empty one as empty."""
    if value is None or value == "" or value == {} or value == []:
        return None
    if isinstance(value, dict):
        fields = fields or {}
        return "; ".join(
            f"{_label(fields.get(str(key)), str(key))}: {item}"
            for key, item in sorted(value.items())
        )
    if field is None:
        return str(value)
    if field.is_relation:
        name = labels.name(field.related_model, value)
        if field.related_model is ContentType and isinstance(name, str):
            return _content_type_label(name)
        return str(name)
    if field.choices:
        choices = {str(key): label for key, label in field.flatchoices}
        return str(choices.get(str(value), value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)


def _content_type_label(app_model: str) -> str:
    try:
        model = apps.get_model(app_model)
    except LookupError:
        return app_model
    return kind_of(model._meta.label).label if model else app_model


def _label(field: models.Field | None, name: str) -> str:
    return capfirst(field.verbose_name) if field is not None else name


def audit_entries(rows: list[dict], *, zone: ZoneInfo) -> list[AuditEntry]:
    """pghistory event rows (``.values(*AUDIT_EVENT_VALUES)``) as entries to
    show, times kept aware (templates and the CSV show them in ``zone``),
    with users and foreign keys named: a fixed number of queries."""
    labels = _labels_for(rows)
    user_ids = {
        (row["pgh_context"] or {}).get("user")
        for row in rows
        if (row["pgh_context"] or {}).get("user")
        and not (row["pgh_context"] or {}).get("username")
    }
    usernames = (
        dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
        if user_ids
        else {}
    )
    entries = []
    for row in rows:
        ctx = row["pgh_context"] or {}
        action = row["pgh_label"]
        tracked = row["pgh_obj_model"]
        fields = fields_of(tracked)
        data = row["pgh_data"] or {}
        if action == "update":
            diff = row["pgh_diff"] or {}
            pairs = [(name, old, new) for name, (old, new) in diff.items()]
        elif action == "insert":
            pairs = [(name, None, value) for name, value in data.items()]
        else:
            pairs = [(name, value, None) for name, value in data.items()]
        kind = kind_of(tracked)
        changes = []
        for name, old, new in pairs:
            if name in HIDDEN_FIELDS:
                continue
            field = fields.get(name)
            shown_old = _shown(field, old, labels, zone, fields)
            shown_new = _shown(field, new, labels, zone, fields)
            if action != "update" and shown_old is None and shown_new is None:
                continue  # an empty field of a new or deleted record
            changes.append(AuditChange(name, _label(field, name), shown_old, shown_new))
        order = list(fields)
        changes.sort(key=lambda c: order.index(c.name) if c.name in order else 999)
        object_id = row["pgh_obj_id"] or ""
        record = kind.describe(data, object_id, labels) if kind.describe else kind.label
        username = (
            ctx.get("username")
            or usernames.get(ctx.get("user"))
            or (kind.who(data) if kind.who else None)
            or "system"
        )
        entries.append(
            AuditEntry(
                at=row["pgh_created_at"],
                username=username,
                action=action,
                kind=tracked,
                model=tracked.split(".")[-1],
                object_id=object_id,
                record=record,
                changes=changes,
                reason=ctx.get("reason", ""),
            )
        )
    return entries
