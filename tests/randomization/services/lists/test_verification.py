"""Verification: a list is frozen on activation with the SHA-256 digest of its
parameters, seed and slots; the service and a Django system check recompute
it, and any change behind the platform's back fails both (PROTOCOL §5)."""

import pytest
from django.core.checks import Error
from django.db import connection

from randomization import services
from randomization.checks import active_list_digest_check
from randomization.models import ListEvent

TAMPERING = {
    "arm": "UPDATE randomization_slot SET arm = CASE arm WHEN 'IF' THEN 'RER' "
    "ELSE 'IF' END WHERE id = %(slot)s",
    "block number": "UPDATE randomization_slot SET block_number = block_number + 1 "
    "WHERE id = %(slot)s",
    "block size": "UPDATE randomization_slot SET block_size = 4 + 6 - block_size "
    "WHERE id = %(slot)s AND block_size <> 2",
    "deleted slot": "DELETE FROM randomization_slot WHERE id = %(last)s",
    "seed": "UPDATE randomization_allocationlist SET seed = seed + 1 "
    "WHERE id = %(list)s",
    "ratio": "UPDATE randomization_allocationlist SET ratio = '[2, 1]' "
    "WHERE id = %(list)s",
}


@pytest.mark.django_db
@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_a_list_changed_behind_the_platforms_back_fails_verification_and_the_check(
    users, active_list, what
):
    assert active_list_digest_check() == []
    stratum = active_list.strata.get(key="HAM|complete")
    slot = stratum.slots.exclude(block_size=2).order_by("sequence").first()
    last = stratum.slots.order_by("-sequence").first()
    with connection.cursor() as cursor:
        cursor.execute(
            TAMPERING[what], {"slot": slot.pk, "last": last.pk, "list": active_list.pk}
        )
        assert cursor.rowcount == 1
    recorded_digest = active_list.digest
    active_list.refresh_from_db()
    assert active_list.digest == recorded_digest

    result = services.list_verify(allocation_list=active_list)
    assert not result.matches
    assert result.recorded == active_list.digest != result.computed

    [error] = active_list_digest_check()
    assert isinstance(error, Error)
    assert error.id == "randomization.E001"
    assert error.obj == active_list
    assert result.recorded[:12] in error.msg and result.computed[:12] in error.msg

    recorded = services.list_verify_record(
        actor=users["statistician"], allocation_list=active_list
    )
    assert not recorded.matches
    event = active_list.list_events.get(action=ListEvent.Action.VERIFIED)
    assert event.detail == {"matches": False, "recorded": active_list.digest}
    assert event.digest == result.computed


@pytest.mark.django_db
def test_swapping_the_arm_labels_fails_verification(users, active_list):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE randomization_allocationlist SET arms = "
            '\'[["IF", "Resection with endoprosthetic reconstruction"], '
            '["RER", "Internal fixation"]]\' WHERE id = %s',
            [active_list.pk],
        )
    active_list.refresh_from_db()
    assert active_list.arm_label("IF") == "Resection with endoprosthetic reconstruction"
    assert not services.list_verify(allocation_list=active_list).matches


@pytest.mark.django_db
def test_using_slots_does_not_change_the_digest(users, site_a, active_list, consented):
    services.participant_randomize(
        actor=users["randomizer"], participant=consented(site_a)
    )
    assert services.list_verify(allocation_list=active_list).matches
    assert active_list_digest_check() == []


@pytest.mark.django_db
def test_without_an_active_list_the_check_has_nothing_to_say(users, site_a):
    services.list_generate(actor=users["statistician"], name="draft", seed=1)
    assert active_list_digest_check() == []
