"""Issue 15, must-show 2: each missing-data code of PROTOCOL §7 reaches the
analysis dataset as its code (never blank or 0) and the data dictionary names
it; the partial date of diagnosis is exported as entered."""

import csv
import datetime

import pytest
from django.core.management import call_command

from crf.models import Baseline, FollowUp, MissingCode, Operative
from outcomes.derivation import analysis_dataset, coded_columns, dictionary_rows
from outcomes.report.fmt import mean_sd_n
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
CUTOFF = D(2025, 12, 31)


@pytest.fixture
def cohort(users, site_a):
    allocation_list(users["statistician"], [site_a])
    return Cohort(site_a, users["coordinator"])


def coded_participant(cohort, code: str):
    """Randomized, operated; the baseline's ECOG and the 6-week EQ VAS
    coded, the diagnosis known to the month."""
    p = cohort.add("IF", on=D(2025, 2, 27))
    cohort.form(Operative, p, surgery_date=D(2025, 3, 1), procedure="IF")
    cohort.form(
        Baseline,
        p,
        primary_cancer="breast",
        primary_cancer_diagnosis="2023-05",
        asa=2,
        ecog=None,
        missing_codes={"ecog": code},
    )
    cohort.form(
        FollowUp,
        p,
        visit="6w",
        visit_date=D(2025, 4, 15),
        vital_status="alive",
        missing_codes={"eq5d_vas": code},
    )
    return p


@pytest.mark.django_db
@pytest.mark.parametrize("code", MissingCode.values)
def test_each_code_reaches_the_dataset_and_the_dictionary(cohort, tmp_path, code):
    p = coded_participant(cohort, code)

    call_command("analysis_dataset", cutoff=CUTOFF.isoformat(), out=str(tmp_path))

    (row,) = [
        r
        for r in csv.DictReader((tmp_path / "participants.csv").open())
        if r["study_id"] == p.study_id
    ]
    assert row["ecog"] == code
    assert row["eq5d_vas_6w"] == code
    assert row["asa"] == "2"  # a value stays a value
    assert row["primary_cancer_diagnosis"] == "2023-05"
    dictionary = {
        r["column"]: r
        for r in csv.DictReader((tmp_path / "data_dictionary.csv").open())
    }
    meaning = f"{code} = {MissingCode(code).label}"
    assert meaning in dictionary["ecog"]["missing_codes"]
    assert meaning in dictionary["eq5d_vas_6w"]["missing_codes"]
    assert dictionary["study_id"]["missing_codes"] == ""
    assert "as entered" in dictionary["primary_cancer_diagnosis"]["description"]


@pytest.mark.django_db
def test_uncoded_blank_stays_blank_and_the_code_is_not_a_number(cohort):
    p = cohort.add("IF", on=D(2025, 2, 27))
    cohort.form(Baseline, p, primary_cancer="lung", ecog=None)
    coded = coded_participant(cohort, "DIED")

    rows = {r["study_id"]: r for r in analysis_dataset(cutoff=CUTOFF).rows}

    assert rows[p.study_id]["ecog"] is None
    assert rows[p.study_id]["primary_cancer_diagnosis"] == ""
    assert rows[coded.study_id]["ecog"] == "DIED"
    # The report's means leave codes out instead of failing on them.
    assert mean_sd_n(["DIED", 50, 70]) == "60.0 (14.1), n=2"


def test_the_dictionary_marks_only_columns_read_from_codable_fields():
    coded = coded_columns()
    assert {"ecog", "asa", "primary_cancer", "eq5d_vas_baseline", "death_cause"} <= (
        coded
    )
    assert "procedure" not in coded  # never coded: treatment received
    assert "mirels_total" not in coded  # a computed score
    assert all(
        row["missing_codes"] == ""
        for row in dictionary_rows()
        if row["column"] == "os_days"
    )
