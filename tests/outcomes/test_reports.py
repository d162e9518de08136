"""The report PDFs, parsed back (pypdf): every section is present, and every
number printed equals the JSON's and the one recomputed from the dataset."""

import csv
import datetime
import io
import json
import re

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from crf.models import Death
from outcomes import stats
from outcomes.derivation import analysis_dataset, columns
from outcomes.inputs import inputs_digest, report_inputs, table_csv
from outcomes.services import report_build
from tests.outcomes.conftest import CUTOFF

BODY_SECTIONS = [
    "Executive summary",
    "Recruitment",
    "Participant flow (CONSORT)",
    "Baseline characteristics",
    "Follow-up and data currency",
    "Open data queries",
    "Protocol deviations",
]
BY_ARM = [
    "Primary endpoint by arm",
    "Interim monitoring",
    "Secondary outcomes by arm",
    "Patient-reported and functional outcomes by visit",
]
APPENDICES = [
    "Appendix A: serious adverse events",
    "Appendix B: deaths",
    "Appendix C: data issues",
]
OPEN_SECTIONS = [*BODY_SECTIONS, "Safety", *APPENDICES]
CLOSED_SECTIONS = [*BODY_SECTIONS, *BY_ARM, "Safety", *APPENDICES]


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def every_cell(content: dict):
    for section in content["sections"]:
        for table in section["tables"]:
            for row in table["rows"]:
                for cell in row:
                    yield section["title"], table["title"], cell


def dataset_from_csv(cutoff) -> list[dict]:
    """The analysis dataset as a statistician gets it: the exported CSV."""
    text = table_csv(columns(), analysis_dataset(cutoff=cutoff).rows)
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("kind", "sections"), [("open", OPEN_SECTIONS), ("closed", CLOSED_SECTIONS)]
)
def test_pdf_has_every_section_and_prints_every_json_number(trial, kind, sections):
    built = report_build(kind=kind, cutoff=CUTOFF)
    text = pdf_text(built.pdf)
    flat = squash(text)

    numbered = [t for t in sections if not t.startswith("Appendix")]
    for number, title in enumerate(numbered, start=1):
        assert f"{number}. {title}" in text
    for title in APPENDICES:
        assert title in text
    assert [s["title"] for s in built.content["sections"]] == sections
    for fact in (CUTOFF.isoformat(), built.dataset_sha256, "Platform version"):
        assert fact in text
    assert built.content["generated_at"] in text
    missing = [
        (section, table, cell)
        for section, table, cell in every_cell(built.content)
        if squash(cell) not in flat
    ]
    assert not missing, missing[:10]


def test_open_report_shows_no_arm(trial):
    built = report_build(kind="open", cutoff=CUTOFF)
    text = pdf_text(built.pdf)
    assert "Arm A" not in text and "Key to arm letters" not in text
    assert "estimates" not in built.content and "arm_key" not in built.content
    assert "Internal fixation" not in text and "Resection" not in text
    listing = next(s for s in built.content["sections"] if s["id"] == "sae_listing")
    assert "Arm" not in listing["tables"][0]["columns"]
    safety = next(s for s in built.content["sections"] if s["id"] == "safety")
    assert all(len(t["columns"]) == 2 for t in safety["tables"])


def test_closed_report_keeps_the_arm_key_on_its_own_last_page(trial):
    built = report_build(kind="closed", cutoff=CUTOFF)
    reader = PdfReader(io.BytesIO(built.pdf))
    last = reader.pages[-1].extract_text()
    assert "Key to arm letters" in last
    assert "Internal fixation" in last and "Resection" in last
    body = " ".join(page.extract_text() for page in reader.pages[:-1])
    assert "Internal fixation" not in body and "Resection" not in body


def test_closed_estimates_equal_those_recomputed_from_the_exported_dataset(trial):
    built = report_build(kind="closed", cutoff=CUTOFF)
    estimates = built.content["estimates"]
    rows = dataset_from_csv(CUTOFF)
    letters = {k["code"]: k["letter"] for k in built.content["arm_key"]}
    horizon = built.content["settings"]["primary_horizon_days"]
    times = [day for _label, day in built.content["settings"]["survival_times"]]
    for arm, letter in letters.items():
        arm_rows = [r for r in rows if r["arm"] == arm]
        cif = stats.cumulative_incidence(
            [int(r["failure_days"]) for r in arm_rows],
            [int(r["failure_cause"]) for r in arm_rows],
            1,
            [horizon],
        )
        assert estimates["primary"][letter]["estimate"] == cif.at[0].estimate
        assert estimates["primary"][letter]["lower"] == cif.at[0].lower
        assert estimates["primary"][letter]["events"] == cif.events
        km = stats.kaplan_meier(
            [int(r["os_days"]) for r in arm_rows],
            [int(r["os_event"]) for r in arm_rows],
            times,
        )
        got = estimates["os"][letter]
        assert [a["estimate"] for a in got["at"]] == [a.estimate for a in km.at]
        assert [a["upper"] for a in got["at"]] == [a.upper for a in km.at]
        assert got["median"] == km.median
        evaluable = [r for r in arm_rows if r["severe_30d"] != ""]
        severe = stats.proportion_ci(
            sum(int(r["severe_30d"]) for r in evaluable), len(evaluable)
        )
        assert estimates["severe_30d"][letter]["lower"] == severe.lower
        assert estimates["severe_30d"][letter]["count"] == severe.count


def test_closed_report_counts_match_the_hand_built_trial(trial):
    """Worked out from the plan in conftest. Deaths by the cut-off: IF days 200
    and 20 (day 400 falls after the cut-off), RER days 90 and 300. Failures
    (reoperation before any death): IF days 60, 15, 100; RER day 200."""
    estimates = report_build(kind="closed", cutoff=CUTOFF).content["estimates"]
    letters = {"IF": "B", "RER": "A"}  # settings.OUTCOMES["ARM_LETTERS"]
    assert estimates["os"][letters["IF"]]["events"] == 2
    assert estimates["os"][letters["RER"]]["events"] == 2
    assert estimates["primary"][letters["IF"]]["events"] == 3
    assert estimates["primary"][letters["RER"]]["events"] == 1
    # Deaths before failure: IF day 20, RER day 90.
    assert estimates["primary"][letters["IF"]]["competing"] == 1
    assert estimates["primary"][letters["RER"]]["competing"] == 1
    # 30-day severe: IF death day 20 and reoperation/SAE day 15 plus the SAE at
    # day 10 (IIIb) = 3 of 6; RER the SAE at day 5 = 1 of 6.
    assert estimates["severe_30d"][letters["IF"]]["count"] == 3
    assert estimates["severe_30d"][letters["RER"]]["count"] == 1
    assert estimates["severe_30d"]["Total"]["n"] == 12


def test_same_data_and_cutoff_give_the_same_numbers_and_digest(trial):
    first = report_build(kind="closed", cutoff=CUTOFF)
    second = report_build(
        kind="closed",
        cutoff=CUTOFF,
        generated_at=datetime.datetime.fromisoformat(first.content["generated_at"]),
    )
    assert first.dataset_sha256 == second.dataset_sha256
    assert first.content == second.content

    Death.objects.filter(participant=trial[1]).delete()
    Death.objects.create(
        participant=trial[1],
        status="complete",
        death_date=datetime.date(2025, 9, 1),
        primary_cause="other",
        created_by=trial[1].created_by,
        updated_by=trial[1].created_by,
    )
    third = report_build(kind="closed", cutoff=CUTOFF)
    assert third.dataset_sha256 != first.dataset_sha256
    assert third.content["estimates"]["os"] != first.content["estimates"]["os"]


def test_digest_is_the_sha256_of_the_exported_tables(trial, tmp_path):
    call_command("analysis_dataset", cutoff=CUTOFF.isoformat(), out=str(tmp_path))
    import hashlib

    exported = (tmp_path / "all_tables.txt").read_bytes()
    digest = hashlib.sha256(exported).hexdigest()
    assert digest == inputs_digest(report_inputs(cutoff=CUTOFF))
    participants = list(csv.DictReader((tmp_path / "participants.csv").open()))
    assert len(participants) == 12
    dictionary = list(csv.DictReader((tmp_path / "data_dictionary.csv").open()))
    assert [d["column"] for d in dictionary] == list(participants[0])


def test_dsmb_report_command_writes_the_pdf_and_json_of_the_same_numbers(
    trial, tmp_path
):
    out, data = tmp_path / "closed.pdf", tmp_path / "closed.json"
    call_command(
        "dsmb_report",
        kind="closed",
        cutoff=CUTOFF.isoformat(),
        out=str(out),
        json=str(data),
    )
    content = json.loads(data.read_text())
    flat = squash(pdf_text(out.read_bytes()))
    assert content["kind"] == "closed" and content["cutoff"] == CUTOFF.isoformat()
    assert content["participants"] == 12
    assert all(squash(cell) in flat for _s, _t, cell in every_cell(content))
    assert content["dataset_sha256"] == inputs_digest(report_inputs(cutoff=CUTOFF))


def test_dsmb_report_command_rejects_a_bad_cutoff(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command(
            "dsmb_report", kind="open", cutoff="31/12/2025", out=str(tmp_path / "x")
        )
    assert not (tmp_path / "x").exists()


def test_report_on_an_empty_trial_builds_without_crashing(db, reference_data):
    built = report_build(kind="closed", cutoff=CUTOFF)
    assert built.content["participants"] == 0
    assert built.pdf.startswith(b"%PDF")
    assert built.content["estimates"]["os"]["A"]["median"] is None
