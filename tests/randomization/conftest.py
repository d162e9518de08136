"""Fixtures for randomization: an active list and consented participants."""

import pytest

from perform import services as core
from randomization import services
from tests.clock import today


@pytest.fixture
def active_list(users, site_a, site_b):
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="PERFORM v1",
        seed=20250201,
        slots_per_stratum=40,
        sites=[site_a, site_b],
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


@pytest.fixture
def consented(users, screen):
    """``consented(site, fracture_status="impending")`` → a consented participant."""

    def _consented(site, fracture_status="impending", coordinator=None):
        coordinator = coordinator or (
            users["coordinator"] if site.code == "TOR" else users["coordinator2"]
        )
        participant = screen(coordinator, site, fracture_status=fracture_status)
        core.participant_consent_record(
            actor=coordinator,
            participant=participant,
            decision_date=today(),
            form_version="v1.0",
            obtained_by="Dr Consent",
        )
        participant.refresh_from_db()
        return participant

    return _consented
