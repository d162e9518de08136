"""Fixtures shared by the CRF tests."""

import pytest
from django.utils import timezone


@pytest.fixture
def randomize(users, site_a, site_b):
    """``randomize(participant)``: consent an eligible participant (screened
    through the service) and randomize them today, through the services, as
    clinical forms need (PROTOCOL §7). The allocation list (sites A and B) is
    made and activated on first use."""
    from perform import services as core
    from randomization import services as rnd

    active = []

    def _randomize(participant, *, coordinator=None):
        core.participant_consent_record(
            actor=coordinator or users["coordinator"],
            participant=participant,
            decision_date=timezone.localdate(),
            form_version="v1",
            obtained_by="Dr A",
        )
        if not active:
            allocation_list = rnd.list_generate(
                actor=users["statistician"],
                name="L",
                seed=1,
                slots_per_stratum=24,
                sites=[site_a, site_b],
            )
            active.append(
                rnd.list_activate(
                    actor=users["statistician"], allocation_list=allocation_list
                )
            )
        rnd.participant_randomize(actor=users["randomizer"], participant=participant)
        participant.refresh_from_db()
        return participant

    return _randomize


@pytest.fixture
def randomized(users, site_a, screen, randomize):
    """A consented participant at site A, randomized today through the service."""
    return randomize(screen(users["coordinator"], site_a))
