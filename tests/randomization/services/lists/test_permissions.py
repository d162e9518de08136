"""Only statisticians manage lists: every list service refuses anyone else, and
a deactivated statistician, and changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied

from randomization import services
from randomization.models import AllocationList
from tests.randomization.services.lists.rows import (
    TOR_IMPENDING,
    counts,
)

NOT_STATISTICIANS = ["randomizer", "datamanager", "coordinator", "investigator", "dsmb"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", NOT_STATISTICIANS)
def test_only_statisticians_generate_import_activate_extend_or_verify(
    users, site_a, site_b, role
):
    actor = users[role]
    draft = services.list_generate(
        actor=users["statistician"], name="draft", seed=3, slots_per_stratum=4
    )
    before = counts()
    attempts = {
        "generate": lambda: services.list_generate(actor=actor, name="x", seed=1),
        "import": lambda: services.list_import(
            actor=actor, name="x", csv_text="stratum,sequence,arm,block\n"
        ),
        "activate": lambda: services.list_activate(actor=actor, allocation_list=draft),
        "verify": lambda: services.list_verify_record(
            actor=actor, allocation_list=draft
        ),
    }
    for action, attempt in attempts.items():
        with pytest.raises(PermissionDenied):
            attempt()
        assert counts() == before, action
    draft.refresh_from_db()
    assert draft.status == AllocationList.Status.DRAFT

    active = services.list_activate(actor=users["statistician"], allocation_list=draft)
    before = counts()
    with pytest.raises(PermissionDenied):
        services.list_extend(
            actor=actor,
            allocation_list=active,
            levels=TOR_IMPENDING,
            min_slots=2,
            reason="Because",
        )
    assert counts() == before


@pytest.mark.django_db
def test_a_deactivated_statistician_manages_nothing(users, site_a):
    statistician = users["statistician"]
    statistician.is_active = False
    statistician.save()
    with pytest.raises(PermissionDenied):
        services.list_generate(actor=statistician, name="x", seed=1)
    assert AllocationList.objects.count() == 0
