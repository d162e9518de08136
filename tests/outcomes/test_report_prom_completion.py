"""The DSMB reports' questionnaire completion table (issue 16, must-show 5):
the hand-built trial's figures, pooled, in the open report's PDF and in the
closed report too; totals that reconcile; the digest covers the figures."""

import datetime
import io

import pytest
from pypdf import PdfReader

from crf.models import PromResponse
from outcomes.inputs import inputs_digest, report_inputs
from outcomes.services import report_build
from tests.crf.epro.completion_trial import LABELS, MODES, OPEN_NOW, prom_trial_build

CUTOFF = datetime.date(2026, 6, 30)
TITLE = "Patient-reported outcome completion by site and visit"
BY_MODE = "Patient-reported outcome completion by site and mode"


@pytest.fixture
def trial(users, site_a, site_b):
    return prom_trial_build(users, site_a, site_b, today=lambda site: CUTOFF)


def tables(content) -> dict:
    section = next(s for s in content["sections"] if s["id"] == "follow_up")
    return {t["title"]: t for t in section["tables"]}


def cell_count(text: str) -> tuple[int, int]:
    """``3 / 5 (60%)`` → (3, 5); "—" → (0, 0)."""
    if text == "—":
        return 0, 0
    done, expected = text.split(" (")[0].split(" / ")
    return int(done), int(expected)


@pytest.mark.django_db
def test_open_report_prints_the_hand_counted_completion(trial):
    built = report_build(kind="open", cutoff=CUTOFF)
    table = tables(built.content)[TITLE]
    assert table["columns"] == [
        "Site",
        "Baseline",
        "2 weeks",
        "6 weeks",
        "4 months",
        "6 months",
        "9 months",
        "12 months",
        "All visits",
    ]
    rows = {row[0]: row for row in table["rows"]}
    assert list(rows) == ["HAM", "TOR", "All sites"]
    for site, key in (("TOR", "TOR"), ("HAM", "HAM"), ("All sites", "all")):
        row = rows[site]
        assert row[1:4] == [LABELS[key, v] for v in ("bl", "2w", "6w")], site
        assert row[4:8] == ["—"] * 4
        assert row[8] == LABELS[key, "all"]
    # Every total reconciles with its cells.
    body = [row for site, row in rows.items() if site != "All sites"]
    for column in range(1, 9):
        parts = [cell_count(row[column]) for row in body]
        total = cell_count(rows["All sites"][column])
        assert tuple(map(sum, zip(*parts, strict=True))) == total, column
    for row in table["rows"]:
        cells = [cell_count(c) for c in row[1:8]]
        assert tuple(map(sum, zip(*cells, strict=True))) == cell_count(row[8])
    by_mode = {row[0]: row for row in tables(built.content)[BY_MODE]["rows"]}
    for site, key in (("TOR", "TOR"), ("HAM", "HAM"), ("All sites", "all")):
        done, expected = cell_count(LABELS[key, "all"])
        assert by_mode[site][1:] == [
            str(expected),
            str(done),
            *map(str, MODES[key]),
            str(OPEN_NOW[key]),
        ], site
    # The PDF prints the same figures.
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(built.pdf)).pages
    )
    assert TITLE in text
    for figure in set(LABELS.values()):
        assert figure in text, figure


@pytest.mark.django_db
def test_closed_report_shows_the_same_pooled_table(trial):
    open_table = tables(report_build(kind="open", cutoff=CUTOFF).content)[TITLE]
    closed_table = tables(report_build(kind="closed", cutoff=CUTOFF).content)[TITLE]
    assert closed_table == open_table


@pytest.mark.django_db
def test_the_digest_covers_the_completion_figures(trial):
    inputs = report_inputs(cutoff=CUTOFF)
    assert {r["site"] for r in inputs.prom_completion} == {"TOR", "HAM"}
    before = inputs_digest(inputs)
    # An answer after the cut-off changes nothing; one before it does.
    q2 = trial[6]
    late = datetime.datetime(2026, 7, 2, 12, tzinfo=datetime.UTC)
    PromResponse.objects.create(
        participant=q2,
        visit="2w",
        mode="paper",
        language="en",
        status="submitted",
        started_at=late,
        last_saved_at=late,
        submitted_at=late,
    )
    assert inputs_digest(report_inputs(cutoff=CUTOFF)) == before
    PromResponse.objects.filter(participant=q2, visit="2w").update(
        submitted_at=late - datetime.timedelta(days=10)
    )
    assert inputs_digest(report_inputs(cutoff=CUTOFF)) != before
