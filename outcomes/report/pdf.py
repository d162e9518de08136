"""The DSMB report as a PDF (ReportLab platypus), drawn from the content dict.

Title page (data cut-off, generation time, platform version, SHA-256 of the
analysis dataset), then each section with its tables and figures; the closed
report ends with the key to the arm letters on a page of its own, so the body
can be circulated without it.
"""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from outcomes.report import plots

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
WRAP_OVER = 22  # cells longer than this are wrapped (Paragraph)
CHUNK_ROWS = 40

_styles = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=_styles["BodyText"], fontSize=7, leading=8.5)
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#99a3b0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)


def _cell(text: str):
    return Paragraph(escape(text), CELL) if len(text) > WRAP_OVER else text


def _widths(table: dict) -> list[float]:
    """Column widths from the longest text in each column (sampled), scaled to
    the page: set once, so long tables need not be measured cell by cell."""
    sample = [table["columns"], *table["rows"][:200]]
    longest = [
        min(WRAP_OVER, max(len(row[i]) for row in sample)) + 2
        for i in range(len(table["columns"]))
    ]
    scale = min(WIDTH / (sum(longest) * 4.2), 1.0)
    return [n * 4.2 * scale for n in longest]


def _table(table: dict) -> list:
    """The table's title, then its rows in chunks of ``CHUNK_ROWS`` (each chunk
    a table of its own with the header repeated: ReportLab splits a short table
    much faster than a long one across hundreds of pages)."""
    flowables = [Paragraph(escape(table["title"]), _styles["Heading4"])]
    if not table["rows"]:
        flowables.append(Paragraph("None.", _styles["BodyText"]))
    widths = _widths(table) if table["rows"] else None
    header = [_cell(c) for c in table["columns"]]
    for start in range(0, len(table["rows"]), CHUNK_ROWS):
        rows = [header]
        rows += [
            [_cell(c) for c in row] for row in table["rows"][start : start + CHUNK_ROWS]
        ]
        grid = LongTable(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        grid.setStyle(TABLE_STYLE)
        flowables.append(grid)
    if table["note"]:
        flowables.append(Paragraph(escape(table["note"]), CELL))
    flowables.append(Spacer(1, 4 * mm))
    return flowables


def _figure(content: dict, figure_id: str) -> list:
    data = content["figures"][figure_id]
    horizon = max(content["settings"]["risk_table_days"])
    if figure_id == "recruitment":
        png, caption = plots.recruitment_plot(data), "Recruitment against target"
    elif figure_id == "km_os":
        png = plots.step_plot(
            data, ylabel="Overall survival", xmax=horizon, rising=False
        )
        caption = "Overall survival by arm (Kaplan-Meier)"
    else:
        png = plots.step_plot(
            data, ylabel="Cumulative incidence of failure", xmax=horizon, rising=True
        )
        caption = "Treatment failure by arm (Aalen-Johansen; death competing)"
    image = Image(io.BytesIO(png), width=WIDTH, height=WIDTH * 0.5)
    return [KeepTogether([Paragraph(caption, _styles["Heading4"]), image])]


def _title_page(content: dict) -> list:
    styles = _styles
    kind = content["kind"]
    audience = (
        "CLOSED: for the DSMB and the unblinded statistician only."
        if kind == "closed"
        else "OPEN: pooled data; may be shared with the steering committee."
    )
    facts = [
        ["Trial", f"PERFORM ({content['registration']})"],
        ["Report", f"{kind.capitalize()} DSMB report"],
        ["Data cut-off", content["cutoff"]],
        ["Generated", content["generated_at"]],
        ["Platform version", content["platform_version"]],
        ["Participants analysed", str(content["participants"])],
        [
            "Left out (data use refused)",
            str(content["excluded_no_data_use"]),
        ],
        ["Data issues (appendix)", str(content["data_issues"])],
        ["Analysis dataset SHA-256", content["dataset_sha256"]],
    ]
    grid = LongTable(facts, colWidths=[45 * mm, WIDTH - 45 * mm], hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return [
        Spacer(1, 30 * mm),
        Paragraph(escape(content["title"]), styles["Title"]),
        Paragraph(audience, styles["Heading3"]),
        Spacer(1, 10 * mm),
        grid,
        Spacer(1, 10 * mm),
        Paragraph(
            "The same data, cut-off and generation time give the same numbers "
            "and the same dataset digest (manage.py dsmb_report regenerates "
            "this report); the generation time decides whose refusal of data "
            "use applies.",
            styles["BodyText"],
        ),
        PageBreak(),
    ]


def _key_page(content: dict) -> list:
    rows = [["Letter", "Arm code", "Arm"]]
    rows += [[k["letter"], k["code"], k["label"]] for k in content["arm_key"]]
    grid = LongTable(rows, hAlign="LEFT")
    grid.setStyle(TABLE_STYLE)
    return [
        PageBreak(),
        Paragraph("Key to arm letters", _styles["Heading1"]),
        Paragraph("Keep this page apart from the report body.", _styles["BodyText"]),
        Spacer(1, 4 * mm),
        grid,
    ]


def report_pdf(content: dict) -> bytes:
    """The PDF of ``content`` (see ``outcomes.report.content``)."""
    buffer = io.BytesIO()
    footer = f"{content['title']} - data cut-off {content['cutoff']}"

    def on_page(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(MARGIN, 8 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"Page {document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=content["title"],
        author="PERFORM trial data platform",
        creator=f"PERFORM platform {content['platform_version']}",
        subject=f"Data cut-off {content['cutoff']}",
    )
    story = _title_page(content)
    for section in content["sections"]:
        if section.get("new_page"):  # appendices
            story.append(PageBreak())
        story.append(
            Paragraph(
                escape(f"{section['number']}. {section['title']}"), _styles["Heading2"]
            )
        )
        for text in section["paragraphs"]:
            story.append(Paragraph(escape(text), _styles["BodyText"]))
        for figure_id in section["figures"]:
            story.extend(_figure(content, figure_id))
        for table in section["tables"]:
            story.extend(_table(table))
    if content["kind"] == "closed":
        story.extend(_key_page(content))
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
