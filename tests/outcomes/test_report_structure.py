"""The report's structure (issue 14, DAMOCLES): the executive summary comes
first and repeats the sections' numbers; the contents list every section
with the page it starts on; every plot has its numbers at risk under the
time axis, which ends at the last follow-up time."""

import datetime
import io
import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pypdf import PdfReader

from outcomes.report import plots
from outcomes.report.pdf import CAPTIONS, report_pdf
from outcomes.services import report_build

CUTOFF = datetime.date(2025, 12, 31)


@pytest.fixture
def closed(trial):
    return report_build(kind="closed", cutoff=CUTOFF)


def _section(content, section_id):
    return next(s for s in content["sections"] if s["id"] == section_id)


def _row(table, label):
    return next(r for r in table["rows"] if r[0].strip() == label)


def _table(section, title_start):
    return next(t for t in section["tables"] if t["title"].startswith(title_start))


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_executive_summary_comes_first_on_one_page(trial, kind):
    built = report_build(kind=kind, cutoff=CUTOFF)
    assert built.content["sections"][0]["id"] == "summary"
    pages = {}
    pdf = report_pdf(built.content, pages)
    reader = PdfReader(io.BytesIO(pdf))
    assert pages["summary"] == 3  # after the cover and the contents
    assert "1. Executive summary" in reader.pages[2].extract_text()
    following = built.content["sections"][1]["id"]
    assert pages[following] == pages["summary"] + 1  # one page, then the body


def test_summary_numbers_equal_those_in_the_sections(closed):
    content = closed.content
    summary = _section(content, "summary")["tables"][0]
    groups = ["A", "B", "Total"]

    primary = _table(_section(content, "primary"), "Primary endpoint")
    by_arm = {r[0]: r for r in primary["rows"]}
    assert _row(summary, "Primary: cumulative incidence (95% CI)")[1:] == [
        by_arm[g][4] for g in groups
    ]
    assert _row(summary, "Primary: failures within the horizon")[1:] == [
        by_arm[g][2] for g in groups
    ]
    tests = {
        r[0]: r[1] for r in _table(_section(content, "primary"), "Comparison")["rows"]
    }
    assert _row(summary, "Gray's test (B against A)")[-1] == tests["Gray's test"]

    follow = _table(_section(content, "follow_up"), "Median follow-up")
    medians = {r[0]: r[2] for r in follow["rows"]}
    assert _row(summary, "Median follow-up, days (95% CI)")[1:] == [
        medians[g] for g in groups
    ]
    baseline = _section(content, "baseline")["tables"][0]
    assert _row(summary, "Analysed")[1:] == _row(baseline, "Participants")[1:]

    safety = _section(content, "safety")
    serious = _table(safety, "Serious adverse events")
    assert (
        _row(summary, "Serious adverse events")[1:]
        == _row(serious, "Any serious adverse event")[1:]
    )
    assert (
        _row(summary, "SUSARs")[1:] == _row(serious, "SUSARs (related, unexpected)")[1:]
    )
    deaths = _table(safety, "Deaths by primary cause")
    assert _row(summary, "Deaths")[1:] == _row(deaths, "Any death")[1:]
    reoperations = _table(safety, "Reoperations by reason")
    assert (
        _row(summary, "Reoperations")[1:] == _row(reoperations, "Any reoperation")[1:]
    )

    monitoring = _section(content, "monitoring")
    current = monitoring["tables"][0]["rows"][-1]
    assert _row(summary, "Observed Z / boundary")[-1].endswith(f"±{current[4]}")

    recruitment = _section(content, "recruitment")
    randomized = content["accrual"]["randomized"]
    assert recruitment["paragraphs"][0].startswith(f"{randomized} participants")
    assert _row(summary, "Randomized (target)")[-1].startswith(f"{randomized} of")


def test_contents_list_every_section_with_the_page_it_starts_on(closed):
    pages = {}
    pdf = report_pdf(closed.content, pages)
    reader = PdfReader(io.BytesIO(pdf))
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents
    headings = []
    for section in closed.content["sections"]:
        number = section.get("number")
        headings.append(f"{number}. {section['title']}" if number else section["title"])
    # The contents page lists every section, in order, at the page its
    # heading is printed on.
    assert pages["contents"] == [
        (heading, pages[s["id"]])
        for heading, s in zip(headings, closed.content["sections"], strict=True)
    ]
    flat = re.sub(r"[\s.]+", " ", contents)
    printed = [int(n) for n in re.findall(r"\b(\d+)\b", flat.split("Contents", 1)[1])]
    for heading, page in pages["contents"]:
        assert re.sub(r"[\s.]+", " ", heading) in flat, heading
        assert page in printed, heading
        assert heading in reader.pages[page - 1].extract_text(), heading


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_no_heading_is_stranded_at_the_foot_of_a_page(trial, kind):
    """Each section's first figure, or its first table's title, is printed
    on the page of its heading."""
    built = report_build(kind=kind, cutoff=CUTOFF)
    pages = {}
    reader = PdfReader(io.BytesIO(report_pdf(built.content, pages)))
    for section in built.content["sections"]:
        if section["figures"]:
            first = CAPTIONS[section["figures"][0]]
        elif section["tables"]:
            first = section["tables"][0]["title"]
        else:
            continue
        text = re.sub(
            r"\s+", " ", reader.pages[pages[section["id"]] - 1].extract_text()
        )
        assert re.sub(r"\s+", " ", first) in text, section["id"]


@pytest.mark.parametrize(
    ("figure_id", "time", "rising"),
    [("km_os", "os_days", False), ("cif_primary", "failure_days", True)],
)
def test_every_plot_has_numbers_at_risk_under_an_axis_ending_at_the_last_follow_up(
    closed, figure_id, time, rising
):
    series = closed.content["figures"][figure_id]
    rows = [r for r in _rows(closed) if r["arm"]]
    last = max(r[time] for r in rows)
    figure = plots.step_figure(series, ylabel="y", rising=rising)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    (axes,) = figure.axes
    assert axes.get_xlim() == (0, last)
    frame = axes.get_window_extent(renderer)
    labels = axes.xaxis.get_label().get_window_extent(renderer)
    at_risk = [t for t in figure.texts if (t.get_gid() or "").startswith("at-risk-")]
    ticks = [d for d in series["risk_days"] if d <= last]
    letters = sorted(series["curves"])
    assert len(at_risk) == len(ticks) * len(letters)
    for text in at_risk:
        _prefix, _risk, letter, day = text.get_gid().split("-")
        box = text.get_window_extent(renderer)
        assert box.y1 < labels.y0 <= frame.y0  # under the axis and its label
        x_tick = axes.transData.transform((int(day), 0))[0]
        assert abs((box.x0 + box.x1) / 2 - x_tick) < 1.0  # centred on its tick
        expected = sum(
            1 for r in rows if r[time] >= int(day) and _letter(closed, r) == letter
        )
        assert text.get_text() == str(expected)
    if rising:  # the incidence axis is scaled to the data, not 0 to 1
        top = max(b[2] for c in series["curves"].values() for b in c["band"] if b[2])
        assert top <= axes.get_ylim()[1] <= min(1.0, top * 1.1 + 0.1)


def _rows(built):
    from outcomes.derivation import analysis_dataset

    return analysis_dataset(cutoff=CUTOFF).rows


def _letter(built, row):
    return {k["code"]: k["letter"] for k in built.content["arm_key"]}[row["arm"]]
