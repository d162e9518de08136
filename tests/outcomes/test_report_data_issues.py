"""The data-issues appendix of the DSMB reports (PROTOCOL §11): every issue the
derivation found is listed and counted, in the open and the closed report,
and the participants left out for refusing data use are counted."""

import datetime
import json

import pytest
from django.core.management import call_command

from crf.models import Death, FollowUp, Operative, Reoperation, Withdrawal
from outcomes.services import report_build
from tests.outcomes.cohort import Cohort
from tests.outcomes.conftest import CUTOFF
from tests.outcomes.test_reports import every_cell, pdf_text, squash

D = datetime.date


@pytest.fixture
def issues(trial, users, site_a):
    """The hand-built trial plus one participant per kind of issue, and one
    who withdrew and refused data use."""
    tor = Cohort(site_a, users["coordinator"])

    def operated(on, surgery):
        p = tor.add("IF", on=on)
        tor.form(Operative, p, surgery_date=surgery, procedure="IF")
        return p

    early = operated(D(2025, 9, 10), D(2025, 9, 5))  # surgery before randomization
    reoperated = operated(D(2025, 9, 1), D(2025, 9, 3))
    tor.form(
        Reoperation, reoperated, reoperation_date=D(2025, 8, 20), reason="infection"
    )
    withdrawn = operated(D(2025, 9, 1), D(2025, 9, 3))
    tor.form(
        Withdrawal,
        withdrawn,
        kind="withdrawn",
        withdrawal_date=D(2025, 11, 1),
        reason="asked",
        data_use_permitted=True,
    )
    tor.form(Death, withdrawn, death_date=D(2026, 1, 5), primary_cause="other")
    dead = operated(D(2025, 9, 1), D(2025, 9, 3))
    tor.form(
        FollowUp, dead, visit="6w", visit_date=D(2025, 10, 15), vital_status="dead"
    )
    refused = operated(D(2025, 9, 1), D(2025, 9, 3))
    tor.form(
        Withdrawal,
        refused,
        kind="withdrawn",
        withdrawal_date=D(2025, 10, 1),
        reason="asked",
        data_use_permitted=False,
    )
    return {
        "Surgery dated before randomization": (early, "Operative.surgery_date"),
        "Event dated before surgery": (reoperated, "Reoperation.reoperation_date"),
        "Event dated after withdrawal": (withdrawn, "Death.death_date"),
        'Follow-up records "dead" without a Death form': (
            dead,
            "FollowUp[6w].vital_status",
        ),
    }


def appendix(content) -> dict:
    (section,) = [s for s in content["sections"] if s["id"] == "data_issues"]
    return section


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_the_appendix_lists_and_counts_every_data_issue(issues, kind):
    built = report_build(kind=kind, cutoff=CUTOFF)
    section = appendix(built.content)
    summary, listing = section["tables"]

    assert section["title"] == "Appendix C: data issues"
    assert section is built.content["sections"][-1]
    assert sorted((row[0], row[2], row[3]) for row in listing["rows"]) == sorted(
        (participant.study_id, label, source)
        for label, (participant, source) in issues.items()
    )
    assert listing["columns"] == [
        "Study ID",
        "Site",
        "Issue",
        "Form and field",
        "Date",
        "Compared with",
        "Its date",
    ]  # no arm, in the closed report either: the listing is the same
    counts = {row[0]: row[2] for row in summary["rows"]}
    assert counts["Any"] == "4"
    assert counts["Event dated after loss to follow-up"] == "0"  # never dropped
    assert all(counts[label] == "1" for label in issues)
    assert built.content["data_issues"] == 4
    assert built.content["excluded_no_data_use"] == 1
    assert "4 data issues in 4 participants" in section["paragraphs"][0]

    text = pdf_text(built.pdf)
    flat = squash(text)
    assert "number" not in section  # appendices are lettered, not numbered
    assert "Appendix C: data issues" in text
    assert squash("Data issues (appendix) 4") in flat
    assert squash("Left out (data use refused) 1") in flat
    missing = [
        cell
        for title, _table, cell in every_cell(built.content)
        if title == section["title"] and squash(cell) not in flat
    ]
    assert not missing, missing


def test_a_report_regenerated_as_of_before_a_refusal_keeps_the_participant(
    issues, tmp_path
):
    """The refusal in ``issues`` was recorded now: a report generated (or
    regenerated with ``--generated-at``) earlier keeps that participant."""
    now = report_build(kind="open", cutoff=CUTOFF)
    call_command(
        "dsmb_report",
        kind="open",
        cutoff=CUTOFF.isoformat(),
        out=str(tmp_path / "open.pdf"),
        json=str(tmp_path / "open.json"),
        generated_at="2026-01-15T12:00:00+00:00",
    )
    earlier = json.loads((tmp_path / "open.json").read_text())

    assert now.content["excluded_no_data_use"] == 1
    assert earlier["excluded_no_data_use"] == 0
    assert earlier["participants"] == now.content["participants"] + 1
    assert earlier["generated_at"] == "2026-01-15T12:00:00+00:00"
