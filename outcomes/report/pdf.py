"""The DSMB report as a PDF (ReportLab platypus), drawn from the content dict.

Cover page (data cut-off, generation time, platform version, SHA-256 of the
analysis dataset), contents with page numbers (filled in at the
end of a single build pass, ``_Contents``), the executive summary on a page of
its own, then each section with its tables and figures (headings are kept
with what follows them), the appendices each on a new page; the closed report
ends with the key to the arm letters on a page of its own, so the body can be
circulated without it. ``report_pdf`` also records on which page each section
starts (``section_pages``), which the tests compare with the contents.
"""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    LongTable,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)

from outcomes.report import plots
from outcomes.report.diagram import consort_drawing

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
WRAP_OVER = 22  # cells longer than this are wrapped (Paragraph)
CHUNK_ROWS = 40

_styles = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=_styles["BodyText"], fontSize=7, leading=8.5)
SECTION = ParagraphStyle("section", parent=_styles["Heading2"], keepWithNext=1)
TABLE_TITLE = ParagraphStyle("table-title", parent=_styles["Heading4"], keepWithNext=1)
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#99a3b0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
    ]
)


CHAR = 3.7  # mean width of a 7-point Helvetica character, in points
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")


def _cell(text: str, width: float, style=CELL):
    """The text as it is when it fits its column, else a wrapping paragraph
    (leading spaces, which indent a block's rows, kept as non-breaking)."""
    if style is CELL and stringWidth(text, "Helvetica", 7) + 5 <= width:
        return text
    indent = len(text) - len(text.lstrip(" "))
    return Paragraph("&nbsp;" * indent + escape(text.lstrip(" ")), style)


def _text_width(text: str, font: str = "Helvetica") -> float:
    return stringWidth(text, font, 7)


def _widths(table: dict) -> list[float]:
    """Column widths from the longest text in each column (sampled; headers by
    their longest word), set once so long tables need not be measured cell by
    cell. Short columns (codes, dates, counts) keep their width; when the
    table is wider than the page only the long text columns are narrowed (and
    wrap), never below their longest word."""
    sample = table["rows"][:200]
    natural = []
    for i, column in enumerate(table["columns"]):
        cap = (34 if i == 0 else WRAP_OVER) * CHAR
        cells = [row[i] for row in sample]
        body = max((_text_width(c) for c in cells), default=0)
        word = max(
            _text_width(w, "Helvetica-Bold")
            for w in [*column.split(), *(w for c in cells for w in c.split())]
            or ["n/a"]
        )
        natural.append(max(min(cap, body), min(word, cap), 12) + 6)
    if sum(natural) <= WIDTH:
        return natural
    long = [i for i, w in enumerate(natural) if w > 16 * CHAR + 6]
    spare = WIDTH - sum(w for i, w in enumerate(natural) if i not in long)
    want = sum(natural[i] for i in long)
    if not long or spare < 16 * CHAR * len(long):  # even short columns must give
        return [w * WIDTH / sum(natural) for w in natural]
    return [
        natural[i] * spare / want if i in long else natural[i]
        for i in range(len(natural))
    ]


def _table(table: dict) -> list:
    """The table's title, then its rows in chunks of ``CHUNK_ROWS`` (each chunk
    a table of its own with the header repeated: ReportLab splits a short table
    much faster than a long one across hundreds of pages)."""
    flowables = [Paragraph(escape(table["title"]), TABLE_TITLE)]
    if not table["rows"]:
        flowables.append(Paragraph("None.", _styles["BodyText"]))
    widths = _widths(table) if table["rows"] else None
    header = [
        _cell(c, w, HEAD) for c, w in zip(table["columns"], widths or [], strict=False)
    ]
    for start in range(0, len(table["rows"]), CHUNK_ROWS):
        rows = [header]
        rows += [
            [_cell(c, w) for c, w in zip(row, widths, strict=True)]
            for row in table["rows"][start : start + CHUNK_ROWS]
        ]
        grid = LongTable(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        grid.setStyle(TABLE_STYLE)
        flowables.append(grid)
    if table["note"]:
        flowables.append(Paragraph(escape(table["note"]), CELL))
    flowables.append(Spacer(1, 4 * mm))
    return flowables


def _image(png: bytes) -> Image:
    width, height = ImageReader(io.BytesIO(png)).getSize()
    return Image(io.BytesIO(png), width=WIDTH, height=WIDTH * height / width)


CAPTIONS = {
    "consort": "CONSORT flow diagram",
    "recruitment": "Recruitment against target, with the projection at the recent rate",
    "km_os": "Overall survival by arm (Kaplan-Meier, shaded 95% CI, ticks: censored)",
    "cif_primary": (
        "Treatment failure by arm (Aalen-Johansen, death competing; shaded 95% CI, "
        "ticks: censored)"
    ),
}


def _figure(content: dict, figure_id: str) -> list:
    data = content["figures"][figure_id]
    caption = Paragraph(CAPTIONS[figure_id], TABLE_TITLE)
    if figure_id == "consort":
        return [caption, consort_drawing(data, WIDTH), Spacer(1, 4 * mm)]
    if figure_id == "recruitment":
        png = plots.recruitment_plot(data)
    elif figure_id == "km_os":
        png = plots.step_plot(data, ylabel="Overall survival", rising=False)
    else:
        png = plots.step_plot(
            data, ylabel="Cumulative incidence of failure", rising=True
        )
    return [KeepTogether([caption, _image(png)])]


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
        Spacer(1, 25 * mm),
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


def _heading(section: dict) -> str:
    if section.get("number") is None:
        return section["title"]
    return f"{section['number']}. {section['title']}"


class _Document(BaseDocTemplate):
    """Notes the page of each section heading (for the contents, the PDF
    outline and ``report_pdf``'s ``pages``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.section_pages: dict[str, int] = {}
        self.contents: list[tuple[str, int]] = []

    def afterFlowable(self, flowable):
        section_id = getattr(flowable, "section_id", None)
        if section_id:
            text = flowable.getPlainText()
            self.canv.bookmarkPage(section_id)
            self.canv.addOutlineEntry(text, section_id, level=0)
            self.section_pages[section_id] = self.page
            self.contents.append((text, self.page))


class _Contents(Flowable):
    """The contents, in a single build pass: this flowable shows a PDF form
    (XObject) that ``_ContentsFill``, the story's last flowable, defines once
    every section's page is known. (ReportLab's ``TableOfContents`` needs
    ``multiBuild``, which lays the whole report out twice: ten seconds at
    20,000 participants.) One line per section, so its height is known."""

    LINE = 16

    def __init__(self, entries: int):
        super().__init__()
        self.entries = entries

    def wrap(self, available_width, available_height):
        self.width = available_width
        self.height = self.entries * self.LINE
        return self.width, self.height

    def draw(self):
        self.canv.doForm("contents")


class _ContentsFill(Flowable):
    def __init__(self, contents: _Contents, document: "_Document"):
        super().__init__()
        self.contents, self.document = contents, document

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        canvas, width = self.canv, self.contents.width
        canvas.beginForm("contents")
        canvas.setFont("Helvetica", 10)
        for i, (text, page) in enumerate(self.document.contents):
            y = self.contents.height - (i + 1) * _Contents.LINE + 4
            number = str(page)
            canvas.drawString(0, y, text)
            start = stringWidth(text, "Helvetica", 10) + 6
            end = width - stringWidth(number, "Helvetica", 10) - 6
            dots = int(max(0, end - start) / stringWidth(". ", "Helvetica", 10))
            canvas.drawRightString(end, y, ". " * dots)
            canvas.drawRightString(width, y, number)
        canvas.endForm()


def _story(content: dict, document: _Document) -> list:
    contents = _Contents(len(content["sections"]))
    story = _title_page(content)
    story += [Paragraph("Contents", _styles["Heading1"]), contents, PageBreak()]
    for section in content["sections"]:
        if section.get("new_page") and story and not isinstance(story[-1], PageBreak):
            story.append(PageBreak())
        # A heading never ends a page: start a new one unless its section's
        # first figure (or the start of its first table) fits below it.
        story.append(CondPageBreak(115 * mm if section["figures"] else 45 * mm))
        heading = Paragraph(escape(_heading(section)), SECTION)
        heading.section_id = section["id"]
        story.append(heading)
        for text in section["paragraphs"]:
            story.append(Paragraph(escape(text), _styles["BodyText"]))
        for figure_id in section["figures"]:
            story.extend(_figure(content, figure_id))
        for table in section["tables"]:
            story.extend(_table(table))
        if section["id"] == "summary":
            story.append(PageBreak())
    if content["kind"] == "closed":
        story.extend(_key_page(content))
    story.append(_ContentsFill(contents, document))
    return story


def report_pdf(content: dict, pages: dict | None = None) -> bytes:
    """The PDF of ``content`` (see ``outcomes.report.content``); when
    ``pages`` is given it receives section id → page number, and under
    ``"contents"`` the (heading, page) entries the contents page printed."""
    buffer = io.BytesIO()
    footer = f"{content['title']} - data cut-off {content['cutoff']}"

    def on_page(canvas, document):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(MARGIN, 8 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"Page {document.page}")
        if content["kind"] == "closed":
            canvas.drawCentredString(A4[0] / 2, A4[1] - 8 * mm, "CLOSED - CONFIDENTIAL")
        canvas.restoreState()

    document = _Document(
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
    frame = Frame(
        document.leftMargin,
        document.bottomMargin,
        document.width,
        document.height,
        id="body",
    )
    document.addPageTemplates([PageTemplate("page", [frame], onPage=on_page)])
    document.build(_story(content, document))
    if pages is not None:
        pages.update(document.section_pages)
        pages["contents"] = list(document.contents)
    return buffer.getvalue()
