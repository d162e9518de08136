"""Fixtures shared by the CRF tests."""

import pytest
from django.utils import timezone


@pytest.fixture
def randomized(users, site_a, screen):
    """A consented participant at site A, randomized today through the service."""
    from perform import services as core
    from randomization import services as rnd

    participant = screen(users["coordinator"], site_a)
    core.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=timezone.localdate(),
        form_version="v1",
        obtained_by="Dr A",
    )
    allocation_list = rnd.list_generate(
        actor=users["statistician"],
        name="L",
        seed=1,
        slots_per_stratum=4,
        sites=[site_a],
    )
    rnd.list_activate(actor=users["statistician"], allocation_list=allocation_list)
    rnd.participant_randomize(actor=users["randomizer"], participant=participant)
    participant.refresh_from_db()
    return participant
