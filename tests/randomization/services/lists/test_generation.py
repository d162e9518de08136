"""list_generate: a draft list for every stratum, reproducible from its seed."""

import pytest

from randomization import services
from randomization.exceptions import ListInvalid
from randomization.generator import stratum_generate
from randomization.models import AllocationList, ListEvent, Slot
from tests.randomization.services.lists.rows import (
    SCHEME,
    SEED,
    counts,
    slot_rows,
)


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
