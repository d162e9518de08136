"""Refusals of data use (PROTOCOL §10): who is left out of a dataset or report
generated at a given moment.

A participant who **withdrew** (Withdrawal form of kind ``withdrawn``,
complete or signed) and answered that their collected data may **not** be
used is left out of every dataset and report *generated* after that refusal
was recorded, whatever the data cut-off (even a cut-off before the
withdrawal). Lost to follow-up is never a reason to leave anyone out: the
question belongs to withdrawal only, so the box is ignored for that kind.

When a refusal was recorded is read from the Withdrawal form's audit trail
(pghistory's ``crf.WithdrawalEvent``, written by a database trigger in the
transaction that saved the form, so neither the application clock nor a later
edit can move it): the first saved version since which the form has stayed a
refusal (complete or signed, kind withdrawn, data use not permitted). Editing
the form afterwards (a corrected reason, a signature) does not move that
moment; a form that stopped being a refusal and became one again counts from
the second time. A form with no audit rows (loaded around the trail) counts
from its ``completed_at``, else its ``updated_at``: the latest moment the
refusal is sure to have been stored.
"""

import datetime

from django.apps import apps

from crf.models import COMPLETE_STATUSES, Withdrawal
from crf.schedule.inputs import withdrawals_recorded


def _is_refusal(status, kind, data_use_permitted) -> bool:
    return (
        status in COMPLETE_STATUSES
        and kind == Withdrawal.Kind.WITHDRAWN
        and data_use_permitted is False
    )


def refusals_recorded_at(ids) -> dict[int, datetime.datetime]:
    """Participant id → when their standing refusal of data use was recorded,
    for the participants of ``ids`` (a subquery) whose Withdrawal form refuses
    data use now."""
    forms = {
        row["pk"]: row
        for row in withdrawals_recorded()
        .filter(
            participant_id__in=ids,
            kind=Withdrawal.Kind.WITHDRAWN,
            data_use_permitted=False,
        )
        .values("pk", "participant_id", "completed_at", "updated_at")
    }
    if not forms:
        return {}
    history = (
        apps.get_model("crf", "WithdrawalEvent")
        .objects.filter(pgh_obj_id__in=forms)
        .order_by("pgh_created_at", "pgh_id")
        .values_list(
            "pgh_obj_id", "pgh_created_at", "status", "kind", "data_use_permitted"
        )
    )
    since: dict[int, datetime.datetime | None] = {}
    for form_id, at, status, kind, permitted in history:
        if not _is_refusal(status, kind, permitted):
            since[form_id] = None
        elif since.get(form_id) is None:
            since[form_id] = at
    return {
        form["participant_id"]: since.get(form_id)
        or form["completed_at"]
        or form["updated_at"]
        for form_id, form in forms.items()
    }


def refused_data_use(ids, *, generated_at: datetime.datetime) -> set[int]:
    """Ids of the participants of ``ids`` to leave out of a dataset or report
    generated at ``generated_at``: refusal recorded at or before it."""
    return {
        pid
        for pid, recorded_at in refusals_recorded_at(ids).items()
        if recorded_at <= generated_at
    }
