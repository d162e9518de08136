"""Endpoint derivation (outcomes.derivation) on small hand-built cohorts whose
event times, censoring and 30-day complications are worked out here."""

import datetime

import pytest

from crf.models import (
    AdverseEvent,
    Baseline,
    Death,
    FollowUp,
    FormStatus,
    LocalRecurrence,
    Operative,
    Reoperation,
    Withdrawal,
)
from outcomes.derivation import analysis_dataset, columns, data_dictionary
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
CUTOFF = D(2025, 12, 1)


def days(a, b):
    return (b - a).days


@pytest.fixture
def cohort(users, site_a):
    allocation_list(users["statistician"], [site_a])
    return Cohort(site_a, users["coordinator"])


def by_id(dataset):
    return {row["study_id"]: row for row in dataset.rows}


def test_reoperation_then_death_is_a_failure_and_os_runs_to_death(cohort):
    p = cohort.add("IF", on=D(2025, 2, 27))
    cohort.form(Operative, p, surgery_date=D(2025, 3, 1), procedure="IF")
    cohort.form(Reoperation, p, reoperation_date=D(2025, 5, 10), reason="infection")
    cohort.form(Death, p, death_date=D(2025, 9, 1), primary_cause="progression")

    row = by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]

    assert row["arm"] == "IF"
    assert row["time_zero"] == D(2025, 3, 1)
    assert row["first_failure_type"] == "reoperation"
    assert row["failure_days"] == 70 and row["failure_cause"] == 1
    assert row["os_days"] == days(D(2025, 3, 1), D(2025, 9, 1)) == 184
    assert row["os_event"] == 1
    assert row["ffs_days"] == 70 and row["ffs_event"] == 1
    assert row["last_alive_date"] == D(2025, 5, 10)
    # Day 70 is outside the 30-day window; 30 days passed: evaluable, no event.
    assert row["severe_30d"] == 0


def test_tied_failures_take_the_first_type_and_a_grade_iiib_ae_is_severe(cohort):
    p = cohort.add("RER", on=D(2025, 3, 3))
    cohort.form(Operative, p, surgery_date=D(2025, 3, 5), procedure="RER")
    cohort.form(
        FollowUp,
        p,
        visit="6w",
        visit_date=D(2025, 4, 16),
        vital_status="alive",
        implant_failure=True,
    )
    cohort.form(LocalRecurrence, p, recurrence_date=D(2025, 4, 16), detected_by="mri")
    cohort.form(AdverseEvent, p, onset_date=D(2025, 3, 20), clavien_dindo="IIIb")

    row = by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]

    assert row["first_failure_date"] == D(2025, 4, 16)
    assert row["first_failure_type"] == "implant_failure"
    assert row["failure_days"] == 42 and row["failure_cause"] == 1
    assert row["os_event"] == 0
    assert row["os_days"] == 42  # censored at the last visit seen alive
    assert row["severe_30d"] == 1 and row["severe_30d_reasons"] == "clavien_dindo"


def test_never_operated_starts_at_randomization_and_death_competes(cohort):
    p = cohort.add("IF", on=D(2025, 4, 1))
    cohort.form(Death, p, death_date=D(2025, 4, 20), primary_cause="other")

    row = by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]

    assert row["surgery_date"] is None
    assert row["time_zero"] == D(2025, 4, 1)
    assert row["failure_cause"] == 2 and row["failure_days"] == 19
    assert row["first_failure_type"] == ""
    assert row["os_days"] == 19 and row["os_event"] == 1
    assert row["severe_30d"] is None  # not operated: not evaluable


def test_death_within_30_days_is_a_severe_complication(cohort):
    p = cohort.add("RER", on=D(2025, 5, 30))
    cohort.form(Operative, p, surgery_date=D(2025, 6, 1), procedure="RER")
    cohort.form(Death, p, death_date=D(2025, 6, 20), primary_cause="surgical")

    row = by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]

    assert row["severe_30d"] == 1 and row["severe_30d_reasons"] == "death"
    assert row["failure_cause"] == 2 and row["failure_days"] == 19


def test_withdrawal_censors_at_withdrawal_and_lost_at_last_visit(cohort):
    withdrawn = cohort.add("IF", on=D(2025, 5, 28))
    cohort.form(Operative, withdrawn, surgery_date=D(2025, 6, 1), procedure="RER")
    cohort.form(
        FollowUp, withdrawn, visit="2w", visit_date=D(2025, 6, 15), vital_status="alive"
    )
    cohort.form(
        Withdrawal,
        withdrawn,
        kind="withdrawn",
        withdrawal_date=D(2025, 8, 1),
        reason="moved",
        data_use_permitted=True,
    )
    lost = cohort.add("RER", on=D(2025, 5, 28))
    cohort.form(Operative, lost, surgery_date=D(2025, 6, 1), procedure="RER")
    cohort.form(
        FollowUp, lost, visit="6w", visit_date=D(2025, 7, 13), vital_status="alive"
    )
    cohort.form(
        Withdrawal,
        lost,
        kind="lost_to_follow_up",
        withdrawal_date=D(2025, 11, 1),
        reason="no contact",
        data_use_permitted=True,
    )

    rows = by_id(analysis_dataset(cutoff=CUTOFF))

    w = rows[withdrawn.study_id]
    assert w["last_alive_date"] == D(2025, 8, 1)
    assert (w["os_days"], w["os_event"]) == (61, 0)
    assert (w["failure_days"], w["failure_cause"]) == (61, 0)
    assert w["procedure"] == "RER" and w["arm"] == "IF"  # crossover recorded
    assert w["severe_30d"] == 0  # left after day 30
    lost_row = rows[lost.study_id]
    assert lost_row["last_alive_date"] == D(2025, 7, 13)  # not the date declared lost
    assert lost_row["os_days"] == 42


def test_withdrawal_before_day_30_without_event_is_not_evaluable(cohort):
    p = cohort.add("IF", on=D(2025, 5, 28))
    cohort.form(Operative, p, surgery_date=D(2025, 6, 1), procedure="IF")
    cohort.form(
        Withdrawal,
        p,
        kind="withdrawn",
        withdrawal_date=D(2025, 6, 10),
        reason="changed mind",
        data_use_permitted=True,
    )
    assert by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]["severe_30d"] is None


def test_cutoff_excludes_late_randomization_events_and_drafts(cohort):
    late = cohort.add("IF", on=D(2025, 12, 2))
    p = cohort.add("RER", on=D(2025, 8, 30))
    cohort.form(Operative, p, surgery_date=D(2025, 9, 1), procedure="RER")
    cohort.form(
        FollowUp, p, visit="6w", visit_date=D(2025, 10, 13), vital_status="alive"
    )
    cohort.form(Reoperation, p, reoperation_date=D(2025, 12, 20), reason="infection")
    cohort.form(
        Death, p, status=FormStatus.DRAFT, death_date=D(2025, 11, 1), primary_cause=""
    )
    recent = cohort.add("IF", on=D(2025, 11, 20))
    cohort.form(Operative, recent, surgery_date=D(2025, 11, 21), procedure="IF")

    rows = by_id(analysis_dataset(cutoff=CUTOFF))

    assert late.study_id not in rows
    row = rows[p.study_id]
    assert row["first_failure_date"] is None  # reoperation after the cut-off
    assert row["death_date"] is None  # a draft is not data
    assert (row["failure_days"], row["failure_cause"]) == (42, 0)
    assert (row["os_days"], row["os_event"]) == (42, 0)
    # Operated 10 days before the cut-off, no event: not yet evaluable.
    assert rows[recent.study_id]["severe_30d"] is None


def test_data_use_not_permitted_leaves_the_participant_out(cohort):
    kept = cohort.add("IF", on=D(2025, 3, 1))
    gone = cohort.add("RER", on=D(2025, 3, 1))
    cohort.form(
        Withdrawal,
        gone,
        kind="withdrawn",
        withdrawal_date=D(2025, 4, 1),
        reason="asked",
        data_use_permitted=False,
    )

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert [r["study_id"] for r in dataset.rows] == [kept.study_id]
    assert dataset.excluded_no_data_use == 1


def test_instrument_scores_land_in_their_visit_columns(cohort):
    p = cohort.add("IF", on=D(2025, 3, 1))
    cohort.form(Operative, p, surgery_date=D(2025, 3, 2), procedure="IF")
    cohort.form(Baseline, p, eq5d_vas=40, primary_cancer="breast", ecog=2)
    cohort.form(
        FollowUp,
        p,
        visit="6w",
        visit_date=D(2025, 4, 13),
        vital_status="alive",
        eq5d_vas=65,
    )

    row = by_id(analysis_dataset(cutoff=CUTOFF))[p.study_id]

    assert row["eq5d_vas_baseline"] == 40
    assert row["eq5d_vas_6w"] == 65
    assert row["eq5d_vas_2w"] is None
    assert row["primary_cancer"] == "breast" and row["ecog"] == 2


def test_every_column_is_in_the_data_dictionary_with_a_description(cohort):
    cohort.add("IF", on=D(2025, 3, 1))
    (row,) = analysis_dataset(cutoff=CUTOFF).rows
    assert list(row) == columns()
    assert all(text for _name, _type, text in data_dictionary())
    assert len(set(columns())) == len(columns())
