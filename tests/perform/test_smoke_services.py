import pytest

from perform import services
from perform.audit_trail import participant_audit_history
from perform.models import ParticipantStatus
from perform.selectors import participants_for
from tests.clock import today
from tests.conftest import eligible_answers


@pytest.mark.django_db
def test_screening_issues_sequential_study_ids_and_sets_eligibility(
    users, site_a, screen
):
    first = screen(users["coordinator"], site_a)
    answers = eligible_answers() | {"primary_bone_sarcoma": True}
    second = screen(users["coordinator"], site_a, answers=answers)
    assert first.study_id == "PRF-TOR-0001"
    assert second.study_id == "PRF-TOR-0002"
    assert first.status == ParticipantStatus.ELIGIBLE
    assert second.status == ParticipantStatus.INELIGIBLE
    assert list(participants_for(users["coordinator2"])) == []


@pytest.mark.django_db
def test_audit_history_has_user_and_reason(users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    services.participant_screening_update(
        actor=users["coordinator"],
        participant=participant,
        reason="typo in age",
        screening_date=participant.screening_date,
        age_at_screening=66,
        sex="female",
        answers=eligible_answers(),
    )
    entries = participant_audit_history(participant)
    age_changes = [
        e
        for e in entries
        if any(c.name == "age_at_screening" for c in e.changes) and e.action == "update"
    ]
    assert age_changes, entries
    change = age_changes[0]
    assert change.username == "coordinator"
    assert change.reason == "typo in age"
    assert ("age_at_screening", "64", "66") in [
        (c.name, c.old, c.new) for c in change.changes
    ]


@pytest.mark.django_db
def test_consented_participant_can_get_missing_stratification_data(
    users, site_a, screen
):

    participant = screen(users["coordinator"], site_a, fracture_status="")
    services.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=today(),
        form_version="v1",
        obtained_by="Dr C",
    )
    services.participant_screening_update(
        actor=users["coordinator"],
        participant=participant,
        reason="fracture status confirmed on CT",
        screening_date=participant.screening_date,
        age_at_screening=64,
        sex="female",
        fracture_status="complete",
        answers=eligible_answers(),
    )
    participant.refresh_from_db()
    assert participant.fracture_status == "complete"
    assert participant.status == ParticipantStatus.CONSENTED
