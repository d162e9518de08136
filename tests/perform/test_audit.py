"""Audit trail: every change recorded with who, when, old → new and why; the
audit rows themselves cannot be changed or removed."""

import psycopg2
import pytest
from django.urls import reverse
from pghistory.models import Events

from perform import services
from perform.audit_trail import participant_audit_history
from perform.models import ParticipantEvent, Site
from tests.clock import today
from tests.conftest import eligible_answers
from tests.dbsupport.roles import role_connection


@pytest.mark.django_db
def test_every_participant_change_is_in_its_history_with_user_and_values(
    client, users, site_a, screen
):
    participant = screen(users["coordinator"], site_a, answers={})
    client.force_login(users["coordinator"])
    data = {
        "screening_date": participant.screening_date.isoformat(),
        "age_at_screening": "71",
        "sex": "female",
        "fracture_status": "complete",
        "screening_notes": "",
        "reason": "Age transcribed wrongly from the referral letter",
    }
    for code, answer in eligible_answers().items():
        data[f"criterion_{code}"] = "yes" if answer else "no"
    response = client.post(
        reverse("participant_screening_edit", args=[participant.study_id]), data
    )
    assert response.status_code == 302
    services.participant_consent_record(
        actor=users["investigator"],
        participant=participant,
        decision_date=today(),
        form_version="v3",
        obtained_by="Dr B",
    )

    history = participant_audit_history(participant)
    updates = {
        (e.model, c.name): (e.username, c.label, c.old, c.new, e.reason)
        for e in history
        if e.action == "update"
        for c in e.changes
    }
    assert updates[("Participant", "age_at_screening")] == (
        "coordinator",
        "Age at screening",
        "64",
        "71",
        "Age transcribed wrongly from the referral letter",
    )
    assert updates[("Participant", "fracture_status")][2:4] == (
        "Impending fracture",
        "Complete pathological fracture",
    )
    assert updates[("Participant", "status")][:4] == (
        "investigator",
        "Status",
        "Eligible",
        "Consented",
    )
    inserts = [e for e in history if e.action == "insert"]
    assert {e.model for e in inserts} >= {
        "Participant",
        "ParticipantStatusChange",
        "EligibilityAnswer",
        "ConsentRecord",
    }
    assert all(e.at is not None for e in history)

    page = client.get(reverse("participant_audit", args=[participant.study_id]))
    html = page.content.decode()
    assert "Age transcribed wrongly from the referral letter" in html
    assert "Age at screening" in html
    assert "age_at_screening</" not in html


@pytest.mark.django_db
def test_editing_a_screening_requires_a_reason(client, users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    data = {
        "screening_date": participant.screening_date.isoformat(),
        "age_at_screening": "65",
        "sex": "female",
        "reason": "",
    }
    response = client.post(
        reverse("participant_screening_edit", args=[participant.study_id]), data
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    participant.refresh_from_db()
    assert participant.age_at_screening == 64


@pytest.mark.django_db
def test_bulk_update_outside_services_is_still_audited(users, site_a):
    Site.objects.filter(pk=site_a.pk).update(target_enrolment=99)
    event = Events.objects.tracks(site_a).filter(pgh_label="update").get()
    assert event.pgh_diff["target_enrolment"] == [20, 99]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET pgh_label = 'x'", "DELETE FROM {table}"]
)
def test_audit_rows_cannot_be_changed_or_deleted_even_by_the_owner(
    users, site_a, screen, statement
):
    """pghistory's append-only triggers refuse what the owner role's privileges
    would allow (the application role lacks the privileges in the first place:
    tests/perform/test_database_roles.py)."""
    screen(users["coordinator"], site_a)
    table = ParticipantEvent._meta.db_table
    with role_connection("owner") as owner, owner.cursor() as cursor:
        cursor.execute("SET lock_timeout = '5s'")
        with pytest.raises(psycopg2.errors.RaiseException, match="Cannot"):
            cursor.execute(statement.format(table=table))
    assert ParticipantEvent.objects.filter(pgh_label="insert").count() == 1
