"""Reads of the audit trail (pghistory's events) as the pages show them: who,
when, which record, old → new with labels, and the reason. Shared by the
participant page and the CRF pages; arms of allocations stay concealed
(``randomization.SlotEvent`` is never listed)."""

from dataclasses import dataclass
from typing import Any

from pghistory.models import Events

from perform.models import EligibilityCriterion, Participant, Site, User


@dataclass(frozen=True)
class AuditEntry:
    """One audited change, ready to show: who, when, what, old → new, why."""

    at: Any
    username: str
    action: str
    model: str
    object_id: str
    changes: list[tuple[str, Any, Any]]
    reason: str


_HIDDEN_AUDIT_FIELDS = {"id", "participant", "participant_id", "password"}
_CONCEALED_AUDIT_MODELS = {"randomization.SlotEvent"}
# Foreign keys shown by name rather than number in the audit history:
# stored field -> (shown name, model, attribute shown).
_AUDIT_LABELS = {
    "criterion_id": ("criterion", EligibilityCriterion, "code"),
    "site_id": ("site", Site, "code"),
    "created_by_id": ("created_by", User, "username"),
    "changed_by_id": ("changed_by", User, "username"),
    "recorded_by_id": ("recorded_by", User, "username"),
    "updated_by_id": ("updated_by", User, "username"),
    "signed_by_id": ("signed_by", User, "username"),
    "locked_by_id": ("locked_by", User, "username"),
}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _audit_values_labelled(rows: list[dict]) -> None:
    """Replace foreign-key ids in event data and diffs by codes and usernames,
    with one query per kind of key (not per event)."""
    wanted: dict[str, set] = {name: set() for name in _AUDIT_LABELS}
    for row in rows:
        for source in (row["pgh_data"] or {}, row["pgh_diff"] or {}):
            for name in wanted.keys() & source.keys():
                wanted[name].update(v for v in _as_list(source[name]) if v is not None)
    lookups = {}
    for name, (_shown, model, attribute) in _AUDIT_LABELS.items():
        ids = wanted[name]
        lookups[name] = (
            dict(model.objects.filter(pk__in=ids).values_list("pk", attribute))
            if ids
            else {}
        )
    for row in rows:
        for key in ("pgh_data", "pgh_diff"):
            if not row[key]:
                continue
            relabelled = {}
            for name, value in row[key].items():
                if name not in _AUDIT_LABELS:
                    relabelled[name] = value
                    continue
                shown, lookup = _AUDIT_LABELS[name][0], lookups[name]
                if key == "pgh_diff":
                    relabelled[shown] = [lookup.get(v, v) for v in value]
                else:
                    relabelled[shown] = lookup.get(value, value)
            row[key] = relabelled


def participant_audit_history(participant: Participant) -> list[AuditEntry]:
    """Every audited change to the participant and the rows that hang off it.

    ``participant`` must come from ``participants_for`` (the caller is in scope).
    Allocation-slot events are left out: they carry list internals (slot ids,
    sequence, block data) that site staff must not see. The randomization still
    shows here as the participant's status change; the slot's own audit rows
    are kept for the statisticians.
    """
    events = (
        Events.objects.references(participant)
        .order_by("pgh_created_at", "pgh_id")
        .values(
            "pgh_created_at",
            "pgh_label",
            "pgh_model",
            "pgh_obj_id",
            "pgh_data",
            "pgh_diff",
            "pgh_context",
        )
    )
    rows = [row for row in events if row["pgh_model"] not in _CONCEALED_AUDIT_MODELS]
    return audit_entries(rows)


AUDIT_EVENT_VALUES = (
    "pgh_created_at",
    "pgh_label",
    "pgh_model",
    "pgh_obj_id",
    "pgh_data",
    "pgh_diff",
    "pgh_context",
)


def audit_entries(rows: list[dict]) -> list[AuditEntry]:
    """pghistory event rows (``.values(*AUDIT_EVENT_VALUES)``) as entries to
    show, with users and foreign keys named (a fixed number of queries)."""
    user_ids = set()
    for row in rows:
        ctx = row["pgh_context"] or {}
        if ctx.get("user"):
            user_ids.add(ctx["user"])
    usernames = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
    _audit_values_labelled(rows)
    entries = []
    for row in rows:
        ctx = row["pgh_context"] or {}
        label = row["pgh_label"]
        if label == "update" and row["pgh_diff"]:
            changes = [
                (name, old_new[0], old_new[1])
                for name, old_new in sorted(row["pgh_diff"].items())
                if name not in _HIDDEN_AUDIT_FIELDS
            ]
        else:
            data = row["pgh_data"] or {}
            changes = [
                (name, None, value) if label == "insert" else (name, value, None)
                for name, value in sorted(data.items())
                if name not in _HIDDEN_AUDIT_FIELDS
            ]
        username = ctx.get("username") or usernames.get(ctx.get("user")) or "system"
        entries.append(
            AuditEntry(
                at=row["pgh_created_at"],
                username=username,
                action=label,
                model=row["pgh_model"].split(".")[-1].removesuffix("Event"),
                object_id=row["pgh_obj_id"] or "",
                changes=changes,
                reason=ctx.get("reason", ""),
            )
        )
    return entries


# Statuses a participant passes through on the way to later ones; used to count
# "ever reached" for the CONSORT flow from the current status alone.
