"""PROTOCOL §10 rule by rule (outcomes.derivation, outcomes.data_issues,
outcomes.data_use): for each rule, the exact endpoint columns of the dataset
row and the exact data issues, worked out by hand here."""

import datetime

import pytest
import time_machine

from crf.models import (
    AdverseEvent,
    Death,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    Reoperation,
    Withdrawal,
)
from outcomes.data_issues import HANDLING
from outcomes.derivation import analysis_dataset, columns, data_dictionary
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
CUTOFF = D(2025, 12, 31)
# The derived columns, from the randomization date to the 30-day endpoint.
ENDPOINT_COLUMNS = columns()[
    columns().index("randomization_date") : columns().index("severe_30d_reasons") + 1
]


@pytest.fixture
def cohort(users, site_a):
    allocation_list(users["statistician"], [site_a])
    return Cohort(site_a, users["coordinator"])


def endpoints(dataset, participant) -> dict:
    (row,) = [r for r in dataset.rows if r["study_id"] == participant.study_id]
    return {name: row[name] for name in ENDPOINT_COLUMNS}


def expected_row(**values) -> dict:
    """A row of ``ENDPOINT_COLUMNS``: blank failure, death and withdrawal
    unless given."""
    row = {
        "surgery_date": None,
        "procedure": "",
        "first_failure_date": None,
        "first_failure_type": "",
        "failure_source": "",
        "death_date": None,
        "death_source": "",
        "death_cause": "",
        "withdrawal_date": None,
        "withdrawal_kind": "",
        "severe_30d": None,
        "severe_30d_reasons": "",
        **values,
    }
    assert sorted(row) == sorted(ENDPOINT_COLUMNS)
    return row


def issue(participant, kind, source, date, compared_with, compared_date) -> dict:
    return {
        "study_id": participant.study_id,
        "site": "TOR",
        "issue": kind,
        "source": source,
        "date": date,
        "compared_with": compared_with,
        "compared_date": compared_date,
        "handling": HANDLING[kind],
    }


RANDOMIZED, SURGERY = D(2025, 2, 27), D(2025, 3, 1)


def operated(cohort, *, on=RANDOMIZED, surgery=SURGERY, arm="IF"):
    p = cohort.add(arm, on=on)
    cohort.form(Operative, p, surgery_date=surgery, procedure=arm)
    return p


def visit(cohort, p, code, date, status="alive", **fields):
    cohort.form(FollowUp, p, visit=code, visit_date=date, vital_status=status, **fields)


def withdraw(cohort, p, kind, date, *, data_use=True):
    cohort.form(
        Withdrawal,
        p,
        kind=kind,
        withdrawal_date=date,
        reason="asked",
        data_use_permitted=data_use,
    )


# Rule 1: censoring never after withdrawal or loss; later events not counted.


def test_death_after_withdrawal_is_not_counted_and_is_a_data_issue(cohort):
    p = operated(cohort)
    visit(cohort, p, "2w", D(2025, 3, 15))
    withdraw(cohort, p, "withdrawn", D(2025, 6, 1))
    cohort.form(Death, p, death_date=D(2025, 8, 1), primary_cause="progression")

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 2, 27),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 6, 1),
        censor_source="Withdrawal.withdrawal_date",
        withdrawal_date=D(2025, 6, 1),
        withdrawal_kind="withdrawn",
        os_days=92,
        os_event=0,
        failure_days=92,
        failure_cause=0,
        ffs_days=92,
        ffs_event=0,
        severe_30d=0,
    )
    assert dataset.data_issues == [
        issue(
            p,
            "event_after_withdrawal",
            "Death.death_date",
            D(2025, 8, 1),
            "Withdrawal.withdrawal_date",
            D(2025, 6, 1),
        )
    ]


def test_after_loss_to_follow_up_no_contact_or_failure_counts(cohort):
    p = operated(cohort)
    visit(cohort, p, "6w", D(2025, 4, 12))
    withdraw(cohort, p, "lost_to_follow_up", D(2025, 7, 1))
    visit(cohort, p, "4m", D(2025, 7, 10))  # after the loss: not a contact
    cohort.form(Reoperation, p, reoperation_date=D(2025, 9, 1), reason="infection")

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 2, 27),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 4, 12),
        censor_source="FollowUp[6w].visit_date",
        withdrawal_date=D(2025, 7, 1),
        withdrawal_kind="lost_to_follow_up",
        os_days=42,
        os_event=0,
        failure_days=42,
        failure_cause=0,
        ffs_days=42,
        ffs_event=0,
        severe_30d=0,
    )
    assert dataset.data_issues == [
        issue(
            p,
            "event_after_loss",
            "Reoperation.reoperation_date",
            D(2025, 9, 1),
            "Withdrawal.withdrawal_date",
            D(2025, 7, 1),
        )
    ]


# Rule 2: death only from a complete Death form.


def test_dead_follow_up_without_death_form_is_censored_and_listed(cohort):
    p = operated(cohort)
    visit(cohort, p, "2w", D(2025, 3, 15))
    visit(cohort, p, "6w", D(2025, 4, 12), status="dead")

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 2, 27),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 3, 15),
        censor_source="FollowUp[2w].visit_date",
        os_days=14,
        os_event=0,
        failure_days=14,
        failure_cause=0,
        ffs_days=14,
        ffs_event=0,
        severe_30d=0,
    )
    assert dataset.data_issues == [
        issue(
            p,
            "dead_without_death_form",
            "FollowUp[6w].vital_status",
            D(2025, 4, 12),
            "Death form",
            None,
        )
    ]


def test_missed_visit_recording_dead_without_death_form_is_listed(cohort):
    """The family phoned: the visit was missed and records "dead", with no
    visit date; it is listed, dated by the day the form was completed."""
    p = operated(cohort)
    visit(cohort, p, "2w", D(2025, 3, 15))
    completed = datetime.datetime(2025, 4, 20, 15, 0, tzinfo=datetime.UTC)
    cohort.form(
        FollowUp,
        p,
        visit="6w",
        missed_reason="Family phoned: died at home.",
        vital_status="dead",
        completed_at=completed,
    )

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, p)["os_event"] == 0
    assert endpoints(dataset, p)["last_alive_date"] == D(2025, 3, 15)
    assert dataset.data_issues == [
        issue(
            p,
            "dead_without_death_form",
            "FollowUp[6w].vital_status",
            D(2025, 4, 20),
            "Death form",
            None,
        )
    ]
    # Completed after the cut-off: not yet known then.
    assert analysis_dataset(cutoff=D(2025, 4, 19)).data_issues == []


# Rules 3 and 4: data-use refusal as of generation; never for loss.


def test_refusal_dated_after_the_cutoff_leaves_the_participant_out(cohort):
    kept = cohort.add("RER", on=D(2025, 3, 1))
    gone = operated(cohort, on=D(2025, 3, 1), surgery=D(2025, 3, 3))
    # Withdrew (and refused) in February 2026, after the cut-off; the report
    # is generated now, after the refusal was recorded.
    withdraw(cohort, gone, "withdrawn", D(2026, 2, 10), data_use=False)

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert [r["study_id"] for r in dataset.rows] == [kept.study_id]
    assert dataset.excluded_no_data_use == 1
    assert dataset.data_issues == []


def test_refusal_recorded_after_generation_is_not_applied_before_it(cohort):
    p = operated(cohort, on=D(2025, 3, 1), surgery=D(2025, 3, 3))
    visit(cohort, p, "2w", D(2025, 3, 17))
    withdraw(cohort, p, "withdrawn", D(2025, 6, 1), data_use=False)
    # The refusal is recorded now (the form's audit row); a dataset generated
    # in January 2026 was generated before it and keeps the participant.
    with time_machine.travel(datetime.datetime(2026, 1, 15, 12, tzinfo=datetime.UTC)):
        before = analysis_dataset(cutoff=CUTOFF)

    assert before.excluded_no_data_use == 0
    assert endpoints(before, p) == expected_row(
        randomization_date=D(2025, 3, 1),
        surgery_date=D(2025, 3, 3),
        procedure="IF",
        time_zero=D(2025, 3, 3),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 6, 1),
        censor_source="Withdrawal.withdrawal_date",
        withdrawal_date=D(2025, 6, 1),
        withdrawal_kind="withdrawn",
        os_days=90,
        os_event=0,
        failure_days=90,
        failure_cause=0,
        ffs_days=90,
        ffs_event=0,
        severe_30d=0,
    )
    after = analysis_dataset(cutoff=CUTOFF)
    assert after.rows == [] and after.excluded_no_data_use == 1


def test_lost_to_follow_up_with_data_use_box_no_is_kept(cohort):
    p = operated(cohort)
    visit(cohort, p, "2w", D(2025, 3, 15))
    withdraw(cohort, p, "lost_to_follow_up", D(2025, 6, 1), data_use=False)

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert dataset.excluded_no_data_use == 0
    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 2, 27),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 3, 15),
        censor_source="FollowUp[2w].visit_date",
        withdrawal_date=D(2025, 6, 1),
        withdrawal_kind="lost_to_follow_up",
        os_days=14,
        os_event=0,
        failure_days=14,
        failure_cause=0,
        ffs_days=14,
        ffs_event=0,
        severe_30d=0,
    )


# Rule 5: implausible stored dates are listed, and do not count.


def test_surgery_before_randomization_stays_time_zero_and_is_listed(cohort):
    p = operated(cohort, on=D(2025, 3, 10), surgery=D(2025, 3, 5))
    visit(cohort, p, "2w", D(2025, 3, 19))

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 3, 10),
        surgery_date=D(2025, 3, 5),
        procedure="IF",
        time_zero=D(2025, 3, 5),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 3, 19),
        censor_source="FollowUp[2w].visit_date",
        os_days=14,
        os_event=0,
        failure_days=14,
        failure_cause=0,
        ffs_days=14,
        ffs_event=0,
        severe_30d=0,
    )
    assert dataset.data_issues == [
        issue(
            p,
            "surgery_before_randomization",
            "Operative.surgery_date",
            D(2025, 3, 5),
            "Randomization.allocated_at",
            D(2025, 3, 10),
        )
    ]


def test_reoperation_and_discharge_before_surgery_are_listed_not_counted(cohort):
    p = operated(cohort, on=D(2025, 2, 10), surgery=D(2025, 3, 1))
    cohort.form(Reoperation, p, reoperation_date=D(2025, 2, 20), reason="infection")
    cohort.form(Discharge, p, discharge_date=D(2025, 2, 25))
    visit(cohort, p, "6w", D(2025, 4, 12))

    dataset = analysis_dataset(cutoff=CUTOFF)

    # Neither a day-0 failure nor a 30-day complication.
    assert endpoints(dataset, p) == expected_row(
        randomization_date=D(2025, 2, 10),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        last_alive_date=D(2025, 4, 12),
        censor_source="FollowUp[6w].visit_date",
        os_days=42,
        os_event=0,
        failure_days=42,
        failure_cause=0,
        ffs_days=42,
        ffs_event=0,
        severe_30d=0,
    )
    surgery = ("Operative.surgery_date", D(2025, 3, 1))
    assert dataset.data_issues == [
        issue(
            p,
            "event_before_surgery",
            "Reoperation.reoperation_date",
            D(2025, 2, 20),
            *surgery,
        ),
        issue(
            p,
            "event_before_surgery",
            "Discharge.discharge_date",
            D(2025, 2, 25),
            *surgery,
        ),
    ]


# Rule 6: every date says where it came from.


def test_source_columns_name_the_form_and_field_of_each_date(cohort):
    failed = operated(cohort)
    visit(cohort, failed, "2w", D(2025, 3, 15))
    visit(cohort, failed, "4m", D(2025, 6, 29), local_progression=True)
    cohort.form(Death, failed, death_date=D(2025, 9, 1), primary_cause="progression")
    resolved = cohort.add("RER", on=D(2025, 4, 1))
    cohort.form(
        AdverseEvent,
        resolved,
        onset_date=D(2025, 4, 5),
        resolution_date=D(2025, 4, 20),
        clavien_dindo="II",
    )
    recurred = operated(cohort, arm="RER")
    cohort.form(
        LocalRecurrence, recurred, recurrence_date=D(2025, 5, 1), detected_by="mri"
    )

    dataset = analysis_dataset(cutoff=CUTOFF)

    assert endpoints(dataset, failed) == expected_row(
        randomization_date=D(2025, 2, 27),
        surgery_date=D(2025, 3, 1),
        procedure="IF",
        time_zero=D(2025, 3, 1),
        time_zero_source="Operative.surgery_date",
        first_failure_date=D(2025, 6, 29),
        first_failure_type="local_progression",
        failure_source="FollowUp[4m].visit_date",
        death_date=D(2025, 9, 1),
        death_source="Death.death_date",
        death_cause="progression",
        last_alive_date=D(2025, 6, 29),
        censor_source="FollowUp[4m].visit_date",
        os_days=184,
        os_event=1,
        failure_days=120,
        failure_cause=1,
        ffs_days=120,
        ffs_event=1,
        severe_30d=0,
    )
    assert endpoints(dataset, resolved) == expected_row(
        randomization_date=D(2025, 4, 1),
        time_zero=D(2025, 4, 1),
        time_zero_source="Randomization.allocated_at",
        last_alive_date=D(2025, 4, 20),
        censor_source="AdverseEvent.resolution_date",
        os_days=19,
        os_event=0,
        failure_days=19,
        failure_cause=0,
        ffs_days=19,
        ffs_event=0,
    )
    recurred_row = endpoints(dataset, recurred)
    assert recurred_row["failure_source"] == "LocalRecurrence.recurrence_date"
    assert recurred_row["censor_source"] == "LocalRecurrence.recurrence_date"
    assert dataset.data_issues == []


def test_the_data_dictionary_describes_the_source_columns():
    described = {name: text for name, _type, text in data_dictionary()}
    for name, of in (
        ("time_zero_source", "time_zero"),
        ("failure_source", "first_failure_date"),
        ("death_source", "death_date"),
        ("censor_source", "last_alive_date"),
    ):
        assert f"Source of {of}" in described[name]
        assert "Operative.surgery_date" in described[name]
        assert "FollowUp[6m].visit_date" in described[name]
