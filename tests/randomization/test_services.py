"""participant_randomize and list life cycle through the services."""

import pytest

from perform.models import ParticipantStatus
from randomization import services
from randomization.exceptions import NotRandomizable
from randomization.models import Slot


@pytest.mark.django_db
def test_randomize_takes_the_first_slot_and_is_idempotent(
    users, site_a, active_list, consented
):
    participant = consented(site_a)
    first = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    expected = Slot.objects.get(stratum__key="TOR|impending", sequence=1)
    assert first.created and first.slot.pk == expected.pk
    again = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert not again.created and again.slot.pk == expected.pk
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED
    assert Slot.objects.filter(participant__isnull=False).count() == 1


@pytest.mark.django_db
def test_unconsented_participant_is_refused_with_reasons(
    users, site_a, active_list, screen
):
    participant = screen(users["coordinator"], site_a, fracture_status="")
    with pytest.raises(NotRandomizable) as error:
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    assert "status is eligible, not consented" in error.value.reasons
    assert "stratification data missing: Fracture status" in error.value.reasons
    assert not Slot.objects.filter(participant__isnull=False).exists()


@pytest.mark.django_db
def test_activation_records_a_digest_that_verifies(users, active_list):
    result = services.list_verify(allocation_list=active_list)
    assert result.matches and len(active_list.digest) == 64


@pytest.mark.django_db
def test_participant_audit_history_never_shows_allocation_slot_rows(
    users, site_a, active_list, consented
):
    from perform.audit_trail import participant_audit_history

    participant = consented(site_a)
    services.participant_randomize(actor=users["randomizer"], participant=participant)
    history = participant_audit_history(participant)
    assert not [e for e in history if e.model == "Slot"]
    changes = [(c.name, c.old, c.new) for e in history for c in e.changes]
    assert ("status", "Consented", "Randomized") in changes, (
        "the randomization shows as the status change"
    )
