"""The earlier interim looks a closed report shows beside its own (PROTOCOL
§11): every closed report the statistician released before this one was
generated, with an earlier data cut-off, and not withdrawn.

A look is what that report printed (its stored JSON): the primary events, the
information fraction and the observed Z, with the DSMB's recommendation as
recorded after the meeting. Reports built before the monitoring section
existed have no such numbers and are not looks. When several released
reports share a cut-off, the last released one counts.
"""

import datetime
import json
from pathlib import Path

from django.conf import settings

from outcomes.models import Report

LOOK_COLUMNS = ["cutoff", "report", "events", "information", "z", "recommendation"]


def earlier_looks(
    *, cutoff: datetime.date, generated_at: datetime.datetime
) -> list[dict]:
    reports = Report.objects.filter(
        kind=Report.Kind.CLOSED,
        released_at__isnull=False,
        released_at__lte=generated_at,
        withdrawn_at__isnull=True,
        cutoff__lt=cutoff,
    ).order_by("cutoff", "released_at", "id")
    by_cutoff = {}
    for report in reports:
        monitoring = _monitoring(report)
        if monitoring is None:
            continue
        by_cutoff[report.cutoff] = {
            "cutoff": report.cutoff.isoformat(),
            "report": report.pk,
            "events": monitoring["observed_events"],
            "information": monitoring["information"],
            "z": monitoring["z_observed"],
            "recommendation": report.dsmb_recommendation,
        }
    return list(by_cutoff.values())


def _monitoring(report: Report) -> dict | None:
    if not report.json_name:
        return None
    path = Path(settings.REPORTS_ROOT) / report.json_name
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return content.get("comparisons", {}).get("monitoring")
