"""The life of an allocation list: generate, activate once, verify, extend.

PROTOCOL §5: a list is frozen on activation with the SHA-256 digest of its
parameters, seed and slots; verification (a service and a Django system check)
recomputes it; an active list changes only by an audited, reasoned extension
that appends whole blocks and records a new digest. Only statisticians manage
lists.
"""

import pytest
from django.core.checks import Error
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from randomization import services
from randomization.checks import active_list_digest_check
from randomization.exceptions import ListInvalid, ListStateError
from randomization.generator import blocks_generate, stratum_generate, stratum_rng
from randomization.models import AllocationList, ListEvent, Slot, Stratum
from tests.factories import SiteFactory, user_with_role

SEED = 20250201  # the seed of the ``active_list`` fixture
SCHEME = {"arms": ["IF", "RER"], "ratio": [1, 1], "block_sizes": [2, 4, 6]}
TOR_IMPENDING = {"site": "TOR", "fracture_status": "impending"}


def slot_rows(allocation_list, key=None):
    slots = Slot.objects.filter(stratum__allocation_list=allocation_list)
    if key:
        slots = slots.filter(stratum__key=key)
    return list(
        slots.order_by("stratum__key", "sequence").values_list(
            "stratum__key", "sequence", "arm", "block_number", "block_size"
        )
    )


def counts():
    return (
        AllocationList.objects.count(),
        Stratum.objects.count(),
        Slot.objects.count(),
        ListEvent.objects.count(),
    )


def extend(users, allocation_list, levels=TOR_IMPENDING, min_slots=10, reason="More"):
    return services.list_extend(
        actor=users["statistician"],
        allocation_list=allocation_list,
        levels=levels,
        min_slots=min_slots,
        reason=reason,
    )


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_generated_list_holds_every_stratum_of_the_generator(users, site_a, site_b):
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="v1",
        seed=SEED,
        slots_per_stratum=30,
        sites=[site_a, site_b],
    )
    assert allocation_list.status == AllocationList.Status.DRAFT
    assert allocation_list.digest == ""
    keys = ["HAM|complete", "HAM|impending", "TOR|complete", "TOR|impending"]
    assert sorted(allocation_list.strata.values_list("key", flat=True)) == keys
    for key in keys:
        expected = stratum_generate(seed=SEED, stratum_key=key, length=30, **SCHEME)
        assert slot_rows(allocation_list, key) == [
            (key, s.sequence, s.arm, s.block_number, s.block_size) for s in expected
        ]
    assert not Slot.objects.filter(participant__isnull=False).exists()
    [event] = allocation_list.list_events.all()
    assert event.action == ListEvent.Action.GENERATED
    assert event.by == users["statistician"]


@pytest.mark.django_db
def test_the_same_seed_and_parameters_give_the_same_list_and_digest(
    users, site_a, site_b
):
    def generate(name, seed):
        return services.list_generate(
            actor=users["statistician"],
            name=name,
            seed=seed,
            slots_per_stratum=20,
            sites=[site_a, site_b],
        )

    first, again, other = generate("a", 7), generate("b", 7), generate("c", 8)
    assert [r[1:] for r in slot_rows(first)] == [r[1:] for r in slot_rows(again)]
    digest = services.list_digest_compute(first)
    assert services.list_digest_compute(again) == digest
    assert services.list_digest_compute(other) != digest
    assert first.list_events.get().digest == digest


@pytest.mark.django_db
def test_without_a_seed_a_fresh_one_is_recorded_and_reproduces_the_list(
    users, site_a, site_b
):
    allocation_list = services.list_generate(
        actor=users["statistician"], name="v1", slots_per_stratum=10
    )
    allocation_list.refresh_from_db()
    assert allocation_list.seed is not None
    expected = stratum_generate(
        seed=allocation_list.seed, stratum_key="HAM|impending", length=10, **SCHEME
    )
    assert [r[2] for r in slot_rows(allocation_list, "HAM|impending")] == [
        s.arm for s in expected
    ]


@pytest.mark.django_db
def test_a_scheme_that_cannot_be_balanced_is_refused_and_creates_nothing(users, site_a):
    before = counts()
    with pytest.raises(ListInvalid) as error:
        services.list_generate(
            actor=users["statistician"], name="v1", seed=1, block_sizes=[3, 6]
        )
    assert error.value.errors == [
        "Block sizes 3 are not multiples of 2, the sum of the ratio 1:1."
    ]
    with pytest.raises(ListInvalid, match="Unknown stratification factors: sex"):
        services.list_generate(
            actor=users["statistician"], name="v1", seed=1, factors=["site", "sex"]
        )
    assert counts() == before


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
# Who may manage lists
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Verification and tampering
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Extension
# ---------------------------------------------------------------------------
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
