"""The audit pages: a participant's audit trail, and (``audit_page``, which
``crf.forms.views.form_history`` calls) the trail of one form. Both read
``perform.audit_trail.audit_trail``, show ``perform/audit_trail.html`` and
export the same entries as CSV with ``?format=csv``.

Filters (record type, user, site-local dates) are GET parameters checked by
``perform.forms.AuditFilterForm``: a bad value shows the form's message and no
entries, never a guess. Pages hold ``infrastructure.pagination.PAGE_SIZE``
entries, newest first.

The CSV has one row per field changed (an entry that changed no shown field
has one row with the field empty): time as ISO 8601 with the site's UTC offset
and the zone's name, user, record type, record, action, field label and its
stored name (the analysis dataset's variable), old and new values as the page
shows them (empty for ∅), and the reason. Cells are defused against formula
injection (``infrastructure.csv_cells``). Site-level CSVs (screening log,
allocation list) write no download row: the download log of PROTOCOL §11
(``outcomes.ReportDownload``) belongs to reports and datasets, a layer above;
each audit export is written to the application log (user, participant,
record, filters) instead.
"""

import csv
import logging

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from infrastructure.csv_cells import csv_cell
from infrastructure.pagination import paginate
from perform import selectors
from perform.audit_trail import (
    EMPTY,
    SYSTEM,
    AuditFilters,
    AuditTrail,
    audit_record_kinds,
    audit_trail,
    audit_trail_users,
)
from perform.forms import AuditFilterForm

log = logging.getLogger(__name__)

CSV_HEADER = [
    "When",
    "Time zone",
    "User",
    "Record type",
    "Record",
    "Action",
    "Field",
    "Variable",
    "Old value",
    "New value",
    "Reason",
]


def _filters(form: AuditFilterForm) -> AuditFilters:
    data = form.cleaned_data
    user = data.get("user") or None
    if user not in (None, SYSTEM):
        user = int(user)
    return AuditFilters(
        kinds=(data["kind"],) if data.get("kind") else (),
        user=user,
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )


def _csv_rows(trail: AuditTrail, kind_labels: dict[str, str]):
    for entry in trail:
        at = timezone.localtime(entry.at, trail.zone)
        common = [
            at.isoformat(timespec="seconds"),
            str(trail.zone),
            entry.username,
            kind_labels.get(entry.kind, entry.model),
            entry.record,
            entry.action_label,
        ]
        changes = entry.changes or [None]
        for change in changes:
            values = (
                [change.label, change.name, change.old, change.new]
                if change
                else ["", "", None, None]
            )
            yield [csv_cell(v) for v in (*common, *values, entry.reason)]


def _csv_response(request, trail: AuditTrail, *, filename: str, what: str):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_rows(trail, dict(audit_record_kinds())))
    log.info(
        "audit trail CSV downloaded: user=%s %s filters=%s",
        request.user.get_username(),
        what,
        request.GET.urlencode(),
    )
    return response


def audit_page(
    request,
    *,
    participant,
    record=None,
    title: str,
    filename: str,
    context: dict | None = None,
):
    """The audit page (or its CSV) of ``participant``, or of ``record`` (one
    of their forms). ``participant`` comes from the site-scoped selectors."""
    viewer = request.user
    users = audit_trail_users(participant=participant, record=record, viewer=viewer)
    kinds = None if record is not None else audit_record_kinds(viewer, participant)
    form = AuditFilterForm(request.GET or None, kinds=kinds, users=users)
    valid = form.is_valid() if form.is_bound else True
    trail = audit_trail(
        participant=participant,
        record=record,
        filters=_filters(form) if form.is_bound and valid else None,
        viewer=viewer,
    )
    what = f"participant={participant.study_id} record={title}"
    if valid and request.GET.get("format") == "csv":
        return _csv_response(request, trail, filename=filename, what=what)
    csv_query = request.GET.copy()
    csv_query.pop("page", None)
    csv_query["format"] = "csv"
    return render(
        request,
        "perform/audit_trail.html",
        {
            "participant": participant,
            "title": title,
            "filters": form,
            "filters_valid": valid,
            "empty": EMPTY,
            "csv_url": f"?{csv_query.urlencode()}",
            **(paginate(request, trail) if valid else {}),
            **(context or {}),
        },
    )


@require_GET
@permission_required("perform.view_participant", raise_exception=True)
def participant_audit(request, study_id):
    """Every audited change to a participant and their records."""
    participant = selectors.participant_get(user=request.user, study_id=study_id)
    return audit_page(
        request,
        participant=participant,
        title=f"Audit trail · {participant.study_id}",
        filename=f"audit-trail-{participant.study_id}.csv",
    )
