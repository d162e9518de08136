"""The active list: activated once, the only one active, and changed only by an
audited, reasoned extension that appends whole blocks and records a new
digest (PROTOCOL §5)."""

import pytest
from django.db import IntegrityError, transaction

from randomization import services
from randomization.checks import active_list_digest_check
from randomization.exceptions import ListInvalid, ListStateError
from randomization.generator import blocks_generate, stratum_generate, stratum_rng
from randomization.models import AllocationList, ListEvent
from tests.factories import SiteFactory, user_with_role
from tests.randomization.services.lists.rows import (
    SCHEME,
    SEED,
    TOR_IMPENDING,
    counts,
    slot_rows,
)


# ---------------------------------------------------------------------------
# Activation
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_list_is_activated_once_only(users, active_list):
    assert active_list.status == AllocationList.Status.ACTIVE
    assert active_list.activated_by == users["statistician"]
    with pytest.raises(ListStateError, match="only a draft list can be activated"):
        services.list_activate(actor=users["statistician"], allocation_list=active_list)
    active_list.refresh_from_db()
    assert active_list.status == AllocationList.Status.ACTIVE
    assert active_list.list_events.filter(action="activated").count() == 1


@pytest.mark.django_db
def test_a_second_list_cannot_become_active(users, site_a, site_b, active_list):
    second = services.list_generate(
        actor=users["statistician"], name="v2", seed=2, slots_per_stratum=10
    )
    with pytest.raises(ListStateError, match="Another list is active"):
        services.list_activate(actor=users["statistician"], allocation_list=second)
    second.refresh_from_db()
    assert second.status == AllocationList.Status.DRAFT and second.digest == ""
    # The database refuses it too, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationList.objects.filter(pk=second.pk).update(
            status=AllocationList.Status.ACTIVE, digest="0" * 64
        )


@pytest.mark.django_db
def test_the_database_refuses_an_active_list_without_a_digest(users, active_list):
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationList.objects.filter(pk=active_list.pk).update(digest="")


@pytest.mark.django_db
def test_the_digest_recorded_at_activation_is_the_generated_lists(users, active_list):
    generated = active_list.list_events.get(action=ListEvent.Action.GENERATED)
    activated = active_list.list_events.get(action=ListEvent.Action.ACTIVATED)
    assert generated.digest == activated.digest == active_list.digest
    assert services.list_verify(allocation_list=active_list).matches
    assert active_list_digest_check() == []


# ---------------------------------------------------------------------------
# Extension
# ---------------------------------------------------------------------------
def extend(users, allocation_list, levels=TOR_IMPENDING, min_slots=10, reason="More"):
    return services.list_extend(
        actor=users["statistician"],
        allocation_list=allocation_list,
        levels=levels,
        min_slots=min_slots,
        reason=reason,
    )


@pytest.mark.django_db
def test_extending_a_stratum_appends_whole_blocks_and_records_a_new_digest(
    users, active_list
):
    key = "TOR|impending"
    before_this = slot_rows(active_list, key)
    before_others = [r for r in slot_rows(active_list) if r[0] != key]
    *_, (_, last_sequence, _, last_block, _) = before_this
    previous_digest = active_list.digest

    stratum = extend(users, active_list, min_slots=10, reason="TOR recruits fast")

    assert stratum.key == key
    after = slot_rows(active_list, key)
    assert after[: len(before_this)] == before_this
    added = after[len(before_this) :]
    assert 10 <= len(added) < 10 + 6
    assert [r[1] for r in added] == list(
        range(last_sequence + 1, last_sequence + 1 + len(added))
    )
    blocks = {}
    for _, _, arm, block, size in added:
        blocks.setdefault((block, size), []).append(arm)
    assert [b for b, _ in blocks] == list(
        range(last_block + 1, last_block + 1 + len(blocks))
    )
    for (_block, size), arms in blocks.items():
        assert len(arms) == size and arms.count("IF") == arms.count("RER")
    assert [r for r in slot_rows(active_list) if r[0] != key] == before_others

    active_list.refresh_from_db()
    assert active_list.digest != previous_digest
    assert services.list_verify(allocation_list=active_list).matches
    assert active_list_digest_check() == []
    event = active_list.list_events.get(action=ListEvent.Action.EXTENDED)
    assert event.reason == "TOR recruits fast"
    assert event.by == users["statistician"]
    assert event.digest == active_list.digest
    assert event.detail == {
        "stratum": key,
        "extension": 1,
        "slots_added": len(added),
        "previous_digest": previous_digest,
    }


@pytest.mark.django_db
def test_extensions_are_reproducible_from_the_seed_and_extension_number(
    users, active_list
):
    key = "HAM|impending"
    original = slot_rows(active_list, key)
    extend(users, active_list, levels={"site": "HAM", "fracture_status": "impending"})
    first = slot_rows(active_list, key)[len(original) :]
    extend(
        users,
        active_list,
        levels={"site": "HAM", "fracture_status": "impending"},
        min_slots=5,
    )
    second = slot_rows(active_list, key)[len(original) + len(first) :]

    def expected(extension, min_slots, after):
        return [
            (key, s.sequence, s.arm, s.block_number, s.block_size)
            for s in blocks_generate(
                rng=stratum_rng(SEED, key, extension),
                min_length=min_slots,
                first_sequence=after[1] + 1,
                first_block=after[3] + 1,
                **SCHEME,
            )
        ]

    assert first == expected(1, 10, original[-1])
    assert second == expected(2, 5, first[-1])
    extensions = active_list.list_events.filter(action=ListEvent.Action.EXTENDED)
    assert [e.detail["extension"] for e in extensions] == [1, 2]


@pytest.mark.django_db
def test_extending_for_a_new_site_creates_its_strata_and_opens_randomization(
    users, active_list, consented
):
    site_c = SiteFactory(code="OSL", name="Oslo", time_zone="Europe/Oslo")
    coordinator = user_with_role(
        "Site coordinator", username="coordinator3", sites=[site_c]
    )
    for status in ("impending", "complete"):
        stratum = extend(
            users,
            active_list,
            levels={"site": "OSL", "fracture_status": status},
            min_slots=12,
            reason="Oslo joins the trial",
        )
        assert stratum.site == site_c
        assert stratum.levels == {"site": "OSL", "fracture_status": status}
        expected = blocks_generate(
            rng=stratum_rng(SEED, stratum.key, 1), min_length=12, **SCHEME
        )
        assert slot_rows(active_list, stratum.key) == [
            (stratum.key, s.sequence, s.arm, s.block_number, s.block_size)
            for s in expected
        ]
    active_list.refresh_from_db()
    assert services.list_verify(allocation_list=active_list).matches

    participant = consented(site_c, fracture_status="complete", coordinator=coordinator)
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert (result.slot.stratum.key, result.slot.sequence) == ("OSL|complete", 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("levels", "min_slots", "reason", "message"),
    [
        (TOR_IMPENDING, 4, "  ", "Give the reason for adding slots."),
        (TOR_IMPENDING, 0, "Because", "Add at least one slot."),
        (
            {"site": "ZZZ", "fracture_status": "impending"},
            4,
            "Because",
            "Not a stratum of this list: Unknown site 'ZZZ'.",
        ),
        ({"site": "TOR"}, 4, "Because", "Not a stratum of this list:"),
        (
            {"site": "TOR", "fracture_status": "partial"},
            4,
            "Because",
            "Not a stratum of this list: Unknown fracture_status 'partial'.",
        ),
    ],
)
def test_an_invalid_extension_is_refused_and_changes_nothing(
    users, active_list, levels, min_slots, reason, message
):
    before, digest = counts(), active_list.digest
    with pytest.raises(ListInvalid) as error:
        extend(users, active_list, levels=levels, min_slots=min_slots, reason=reason)
    assert error.value.errors[0].startswith(message)
    assert counts() == before
    active_list.refresh_from_db()
    assert active_list.digest == digest


@pytest.mark.django_db
def test_only_the_active_generated_list_is_extended(users, site_a, site_b):
    draft = services.list_generate(
        actor=users["statistician"], name="draft", seed=1, slots_per_stratum=4
    )
    with pytest.raises(ListStateError, match="Only the active list is extended"):
        extend(users, draft)

    rows = "".join(
        f"TOR|impending,{s.sequence},{s.arm},{s.block_number}\n"
        for s in stratum_generate(
            seed=1, stratum_key="TOR|impending", length=4, **SCHEME
        )
    )
    imported = services.list_import(
        actor=users["statistician"],
        name="imported",
        csv_text="stratum,sequence,arm,block\n" + rows,
    )
    imported = services.list_activate(
        actor=users["statistician"], allocation_list=imported
    )
    before = counts()
    with pytest.raises(ListStateError, match="imported list cannot be extended"):
        extend(users, imported)
    assert counts() == before
