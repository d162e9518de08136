"""The printable randomization confirmation (ReportLab platypus).

Built only from an ``AllocationView`` (what ``allocation_shown_to`` lets the
user see), so it can hold nothing about the list beyond this one allocation;
the number within the stratum appears only when the view carries it
(statisticians).
"""

import datetime
import io
import zoneinfo
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from perform.models import Participant
from randomization.selectors import AllocationView

TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def _local(moment: datetime.datetime, time_zone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).strftime(TIME_FORMAT)


def allocation_confirmation_pdf(
    *,
    allocation: AllocationView,
    participant: Participant,
    generated_at: datetime.datetime,
) -> bytes:
    """A one-page PDF confirming ``allocation`` of ``participant``."""
    trial = settings.TRIAL
    site = participant.site
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Randomization confirmation {allocation.study_id}",
        author=f"{trial['NAME']} trial data platform",
        creator=f"{trial['NAME']} platform {settings.PLATFORM_VERSION}",
        subject=f"{trial['NAME']} ({trial['REGISTRATION']})",
    )
    rows = [
        ("Trial", f"{trial['NAME']} ({trial['REGISTRATION']})"),
        ("Study ID", allocation.study_id),
        ("Site", f"{site.code} – {site.name}"),
        ("Stratum", allocation.stratum_label),
        # Never the number within the stratum, even for a statistician: the
        # confirmation is filed at the site (PROTOCOL §5).
        ("Allocated arm", f"{allocation.arm_label} ({allocation.arm})"),
        (
            "Randomized at (UTC)",
            allocation.randomized_at.astimezone(datetime.UTC).strftime(TIME_FORMAT),
        ),
        (
            f"Randomized at ({site.time_zone})",
            _local(allocation.randomized_at, site.time_zone),
        ),
        ("Randomized by", allocation.randomized_by or "–"),
        ("Platform version", settings.PLATFORM_VERSION),
    ]
    table = Table(
        [
            [
                Paragraph(escape(label), styles["Normal"]),
                Paragraph(escape(value), styles["Normal"]),
            ]
            for label, value in rows
        ],
        colWidths=[55 * mm, 115 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph("Randomization confirmation", styles["Title"]),
        Paragraph(
            f"{trial['NAME']} trial · {trial['REGISTRATION']}", styles["Heading3"]
        ),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 10 * mm),
        Paragraph(
            "Confidential: for the participant's site team and the Methods Centre. "
            "File with the participant's trial records.",
            styles["Italic"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"generated {generated_at.astimezone(datetime.UTC).strftime(TIME_FORMAT)}",
            styles["Normal"],
        ),
    ]
    document.build(story)
    return buffer.getvalue()
