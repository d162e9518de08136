"""Fixtures of the page tests: participants randomized through the service,
a short active list and a draft list."""

import pytest

from randomization import services


@pytest.fixture
def randomized(users, consented):
    """``randomized(site)`` → (participant, slot) randomized through the service."""

    def _randomized(site, fracture_status="impending"):
        participant = consented(site, fracture_status)
        result = services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
        participant.refresh_from_db()
        return participant, result.slot

    return _randomized


@pytest.fixture
def short_list(users, site_a, site_b):
    """An active list with exactly two slots (one block of 2) per stratum."""
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="Short",
        seed=7,
        block_sizes=[2],
        slots_per_stratum=2,
        sites=[site_a, site_b],
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


@pytest.fixture
def draft_list(users, site_a, site_b):
    return services.list_generate(
        actor=users["statistician"],
        name="Draft",
        seed=99,
        slots_per_stratum=6,
        sites=[site_a, site_b],
    )
