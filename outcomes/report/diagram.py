"""The CONSORT flow diagram (CONSORT 2010, figure 1) as ReportLab vector
graphics, from the numbers of ``outcomes.report.flow.consort_flow``.

Enrolment (screened, excluded with reasons, randomized, left out for refused
data use), then one column per arm (one pooled column in the open report):
allocation, follow-up, analysis; boxes joined by arrows. ReportLab's
graphics shapes are used directly: no library draws CONSORT diagrams.
"""

from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors

FONT, SIZE, LEADING, PAD = "Helvetica", 7.5, 9.5, 4
BOX_FILL = colors.HexColor("#f3f6fa")
EDGE = colors.HexColor("#44546a")


class _Box:
    def __init__(self, x, y_top, width, lines):
        self.x, self.width, self.lines = x, width, lines
        self.height = PAD * 2 + LEADING * len(lines)
        self.top = y_top
        self.bottom = y_top - self.height

    @property
    def centre(self):
        return self.x + self.width / 2

    def draw(self, drawing):
        drawing.add(
            Rect(
                self.x,
                self.bottom,
                self.width,
                self.height,
                fillColor=BOX_FILL,
                strokeColor=EDGE,
                strokeWidth=0.6,
            )
        )
        for i, line in enumerate(self.lines):
            drawing.add(
                String(
                    self.x + PAD,
                    self.top - PAD - LEADING * (i + 1) + 2.5,
                    line,
                    fontName="Helvetica-Bold" if i == 0 else FONT,
                    fontSize=SIZE,
                )
            )


def _arrow(drawing, x1, y1, x2, y2):
    drawing.add(Line(x1, y1, x2, y2, strokeColor=EDGE, strokeWidth=0.8))
    if x1 == x2:  # downward
        head = [x2 - 2.5, y2 + 4, x2 + 2.5, y2 + 4, x2, y2]
    else:  # sideways, to the right
        head = [x2 - 4, y2 + 2.5, x2 - 4, y2 - 2.5, x2, y2]
    drawing.add(Polygon(head, fillColor=EDGE, strokeColor=EDGE, strokeWidth=0.5))


def consort_drawing(flow: dict, width: float) -> Drawing:
    """The diagram, ``width`` points wide; its height follows the content."""
    gap = 14
    main_w = width * 0.42
    side_w = width * 0.46
    side_x = width - side_w
    main_x = (side_x - gap - main_w) / 2 if side_x - gap > main_w else 0
    boxes, arrows, y = [], [], 0.0
    screened = _Box(
        main_x, y, main_w, [f"Assessed for eligibility (n = {flow['screened']})"]
    )
    excluded_n = flow["ineligible"] + flow["declined"] + flow["not_yet_randomized"]
    excluded = _Box(
        side_x,
        screened.bottom - gap,
        side_w,
        [
            f"Excluded (n = {excluded_n})",
            f"Ineligible (n = {flow['ineligible']})",
            f"Declined consent (n = {flow['declined']})",
            f"Not randomized by the cut-off (n = {flow['not_yet_randomized']})",
        ],
    )
    randomized = _Box(
        main_x,
        excluded.bottom - gap,
        main_w,
        [f"Randomized (n = {flow['randomized']})"],
    )
    left_out = _Box(
        side_x,
        randomized.bottom - gap,
        side_w,
        [
            f"Left out of every analysis (n = {flow['excluded_no_data_use']})",
            "Withdrew and refused the use of their data",
        ],
    )
    boxes += [screened, excluded, randomized, left_out]
    spine = screened.centre
    arrows.append((spine, screened.bottom, spine, randomized.top))
    arrows.append((spine, (excluded.top + excluded.bottom) / 2, side_x, None))
    arrows.append((spine, (left_out.top + left_out.bottom) / 2, side_x, None))
    columns = flow["columns"]
    col_w = (width - gap * (len(columns) - 1)) / len(columns)
    rows_top = left_out.bottom - gap * 1.5
    bottoms = []
    for i, c in enumerate(columns):
        x = i * (col_w + gap)
        name = f"arm {c['label']}" if len(columns) > 1 else "either arm (pooled)"
        allocated = _Box(
            x,
            rows_top,
            col_w,
            [
                f"Allocated to {name} (n = {c['allocated']})",
                f"Received the allocated procedure (n = {c['received']})",
                f"Received another procedure (n = {c['other_procedure']})",
                f"Not operated by the cut-off (n = {c['not_operated']})",
            ],
        )
        followed = _Box(
            x,
            allocated.bottom - gap,
            col_w,
            [
                "Follow-up",
                f"Died (n = {c['died']})",
                f"Withdrew consent (n = {c['withdrew']})",
                f"Lost to follow-up (n = {c['lost']})",
                f"Completed the {flow['last_visit']} visit (n = {c['completed']})",
            ],
        )
        analysed = _Box(
            x, followed.bottom - gap, col_w, [f"Analysed (n = {c['analysed']})"]
        )
        boxes += [allocated, followed, analysed]
        arrows.append(
            (allocated.centre, allocated.bottom, allocated.centre, followed.top)
        )
        arrows.append((followed.centre, followed.bottom, followed.centre, analysed.top))
        bottoms.append((allocated.centre, allocated.top))
        y = analysed.bottom
    height = -y + 2
    drawing = Drawing(width, height)
    shift = height - 1  # boxes were laid out downward from y = 0

    def moved(value):
        return value + shift

    # Randomized → each column: down the spine, across, down.
    split = (left_out.bottom + rows_top) / 2 - gap * 0.25
    drawing.add(
        Line(spine, moved(randomized.bottom), spine, moved(split), strokeColor=EDGE)
    )
    xs = [x for x, _top in bottoms]
    drawing.add(
        Line(
            min(xs + [spine]),
            moved(split),
            max(xs + [spine]),
            moved(split),
            strokeColor=EDGE,
        )
    )
    for x, top in bottoms:
        _arrow(drawing, x, moved(split), x, moved(top))
    for x1, y1, x2, y2 in arrows:
        if y2 is None:  # a side box: horizontal arrow at y1
            _arrow(drawing, x1, moved(y1), x2, moved(y1))
        else:
            _arrow(drawing, x1, moved(y1), x2, moved(y2))
    for box in boxes:
        box.top, box.bottom = moved(box.top), moved(box.bottom)
        box.draw(drawing)
    return drawing
