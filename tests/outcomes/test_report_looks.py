"""Interim monitoring across reports (PROTOCOL §11, ``outcomes.looks``): a
released closed report is an earlier look of every later closed report, with
the DSMB's recommendation; a draft or a withdrawn one is not; the boundaries
are those of the spending function at all the looks' information fractions."""

import datetime

import pytest

from outcomes import boundary
from outcomes.release import (
    report_recommendation_record,
    report_release,
    report_withdraw,
)
from outcomes.services import report_build, report_generate, report_request
from tests.outcomes.conftest import CUTOFF

EARLY = datetime.date(2025, 7, 31)  # 2 of the 4 failures


@pytest.fixture
def reports_root(settings, tmp_path):
    settings.REPORTS_ROOT = str(tmp_path)
    return tmp_path


def _built(users, cutoff):
    report = report_request(actor=users["statistician"], kind="closed", cutoff=cutoff)
    return report_generate(report_id=report.pk)


def _monitoring(cutoff):
    return report_build(kind="closed", cutoff=cutoff).content["comparisons"][
        "monitoring"
    ]


def test_a_released_report_is_an_earlier_look_with_its_recommendation(
    trial, users, reports_root
):
    early = _built(users, EARLY)
    first = _monitoring(EARLY)
    assert len(first["looks"]) == 1  # nothing released yet: this look only
    report_release(report=early, user=users["statistician"], note="For the meeting.")
    report_recommendation_record(
        report=early, user=users["statistician"], text="Continue unchanged."
    )

    later = _monitoring(CUTOFF)
    assert later["information"] > first["information"]
    assert [look["cutoff"] for look in later["looks"]] == [EARLY.isoformat(), None]
    earlier = later["looks"][0]
    assert earlier["information"] == pytest.approx(first["information"])
    assert earlier["z_observed"] == first["z_observed"]
    assert earlier["recommendation"] == "Continue unchanged."
    expected = boundary.obf_boundaries([first["information"], later["information"]])
    assert [look["z_boundary"] for look in later["looks"]] == pytest.approx(
        [b.z for b in expected]
    )
    # At its own look alone the boundary was higher than as a second look.
    assert first["z_boundary"] != later["z_boundary"]


def test_drafts_and_withdrawn_reports_are_not_looks(trial, users, reports_root):
    early = _built(users, EARLY)
    assert len(_monitoring(CUTOFF)["looks"]) == 1  # a draft is not a look
    report_release(report=early, user=users["statistician"], note="For the meeting.")
    assert len(_monitoring(CUTOFF)["looks"]) == 2
    report_withdraw(report=early, user=users["statistician"], reason="Wrong cut-off.")
    assert len(_monitoring(CUTOFF)["looks"]) == 1


def test_the_looks_enter_the_dataset_digest(trial, users, reports_root):
    early = _built(users, EARLY)
    before = report_build(kind="closed", cutoff=CUTOFF).dataset_sha256
    report_release(report=early, user=users["statistician"], note="For the meeting.")
    after = report_build(kind="closed", cutoff=CUTOFF).dataset_sha256
    assert before != after
