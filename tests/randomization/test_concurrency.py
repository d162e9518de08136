"""participant_randomize under concurrent requests: real PostgreSQL, real threads.

PROTOCOL §5: concurrent requests never share a slot, never skip one, and a
retried request returns the allocation already made. Every test commits for
real (``transaction=True``), so the row locks are PostgreSQL's own, and each
thread has its own database connection, closed when the thread ends.
"""

import queue
import random
import threading
from collections import Counter, defaultdict
from itertools import pairwise

import pytest
from django.db import connection

from perform.models import Participant, ParticipantStatus, ParticipantStatusChange
from randomization import services, tasks
from randomization.exceptions import StratumExhausted
from randomization.generator import stratum_generate
from randomization.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16
SEED = 77001
SLOTS_PER_STRATUM = 60
STRATA = [
    ("TOR", "impending"),
    ("TOR", "complete"),
    ("HAM", "impending"),
    ("HAM", "complete"),
]
DISTINCT = 150
REPEATS = 50


@pytest.fixture
def enqueued(monkeypatch):
    """Record the Celery tasks the service enqueues instead of sending them to
    the broker: ``{"notify": [slot ids], "exhausted": [kwargs]}``."""
    calls = {"notify": [], "exhausted": []}
    lock = threading.Lock()

    def notify(**kwargs):
        with lock:
            calls["notify"].append(kwargs["slot_id"])

    def exhausted(**kwargs):
        with lock:
            calls["exhausted"].append(kwargs)

    monkeypatch.setattr(tasks.allocation_notify, "delay", notify)
    monkeypatch.setattr(tasks.stratum_exhausted_alert, "delay", exhausted)
    return calls


def _run_concurrently(requests, randomize):
    """Run ``randomize(request)`` for every request from THREADS threads that
    start together; return ``(results, errors)`` as (request, value) pairs."""
    todo = queue.SimpleQueue()
    for index, request in enumerate(requests):
        todo.put((index, request))
    barrier = threading.Barrier(THREADS)
    results, errors = [], []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait(timeout=30)
            while True:
                try:
                    index, request = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    value = randomize(request)
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    with lock:
                        errors.append((index, request, exc))
                else:
                    with lock:
                        results.append((index, request, value))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def _randomize_by_pk(actor):
    """What a request does: load the participant afresh, then randomize."""

    def randomize(participant_pk):
        participant = Participant.objects.get(pk=participant_pk)
        result = services.participant_randomize(actor=actor, participant=participant)
        slot = result.slot
        return {
            "slot": slot.pk,
            "stratum": slot.stratum.key,
            "sequence": slot.sequence,
            "arm": slot.arm,
            "created": result.created,
        }

    return randomize


def test_200_concurrent_requests_over_4_strata_take_the_list_in_order(
    users, site_a, site_b, consented, enqueued
):
    statistician = users["statistician"]
    allocation_list = services.list_generate(
        actor=statistician,
        name="Concurrency",
        seed=SEED,
        slots_per_stratum=SLOTS_PER_STRATUM,
        sites=[site_a, site_b],
    )
    allocation_list = services.list_activate(
        actor=statistician, allocation_list=allocation_list
    )
    sites = {"TOR": site_a, "HAM": site_b}
    participants = []
    for i in range(DISTINCT):  # 38, 38, 37, 37 per stratum
        site, status = STRATA[i % len(STRATA)]
        participants.append(consented(sites[site], fracture_status=status))
    stratum_of = {p.pk: f"{p.site.code}|{p.fracture_status}" for p in participants}
    rng = random.Random(20250201)
    requests = [p.pk for p in participants] + [
        rng.choice(participants).pk for _ in range(REPEATS)
    ]
    rng.shuffle(requests)
    assert len(requests) == 200 and len(set(requests)) == DISTINCT

    results, errors = _run_concurrently(requests, _randomize_by_pk(users["randomizer"]))

    assert errors == []
    assert len(results) == len(requests)
    # Every request for a participant got the same slot; one of them created it.
    by_participant = defaultdict(list)
    for _index, participant_pk, value in results:
        by_participant[participant_pk].append(value)
    assert set(by_participant) == set(stratum_of)
    for participant_pk, values in by_participant.items():
        slots = {(v["slot"], v["stratum"], v["sequence"], v["arm"]) for v in values}
        assert len(slots) == 1, (participant_pk, values)
        assert [v["created"] for v in values].count(True) == 1
        assert values[0]["stratum"] == stratum_of[participant_pk]
    assert Counter(v["created"] for _, _, v in results) == {
        True: DISTINCT,
        False: REPEATS,
    }

    # The database agrees: one used slot per participant, the one returned.
    used = Slot.objects.filter(participant__isnull=False).select_related("stratum")
    assert used.count() == DISTINCT
    assert {s.participant_id: s.pk for s in used} == {
        pk: values[0]["slot"] for pk, values in by_participant.items()
    }

    # In each stratum the used sequences are 1..n, taken in allocation order, and
    # their arms are the pre-generated list's, slot for slot.
    per_stratum = Counter(stratum_of.values())
    for site, status in STRATA:
        key = f"{site}|{status}"
        taken = list(
            Slot.objects.filter(stratum__key=key, participant__isnull=False).order_by(
                "allocated_at", "sequence"
            )
        )
        assert [s.sequence for s in taken] == list(range(1, per_stratum[key] + 1))
        assert all(a.allocated_at < b.allocated_at for a, b in pairwise(taken))
        expected = stratum_generate(
            seed=SEED,
            stratum_key=key,
            arms=["IF", "RER"],
            ratio=[1, 1],
            block_sizes=[2, 4, 6],
            length=SLOTS_PER_STRATUM,
        )
        assert [(s.sequence, s.arm, s.block_number, s.block_size) for s in taken] == [
            (e.sequence, e.arm, e.block_number, e.block_size)
            for e in expected[: len(taken)]
        ]
        assert not Slot.objects.filter(
            stratum__key=key, participant__isnull=True, sequence__lte=len(taken)
        ).exists()

    # Each participant changed status once, and one e-mail per allocation queued.
    assert set(
        Participant.objects.filter(pk__in=stratum_of).values_list("status", flat=True)
    ) == {ParticipantStatus.RANDOMIZED}
    assert (
        ParticipantStatusChange.objects.filter(
            to_status=ParticipantStatus.RANDOMIZED
        ).count()
        == DISTINCT
    )
    assert sorted(enqueued["notify"]) == sorted(s.pk for s in used)
    assert enqueued["exhausted"] == []
    assert services.list_verify(allocation_list=allocation_list).matches


def test_concurrent_requests_for_one_participant_allocate_once(
    users, site_a, site_b, active_list, consented, enqueued
):
    participant = consented(site_a)

    results, errors = _run_concurrently(
        [participant.pk] * THREADS, _randomize_by_pk(users["randomizer"])
    )

    assert errors == []
    values = [value for _, _, value in results]
    assert len(values) == THREADS
    assert [v["created"] for v in values].count(True) == 1
    assert len({(v["slot"], v["sequence"], v["arm"]) for v in values}) == 1
    assert values[0]["stratum"] == "TOR|impending" and values[0]["sequence"] == 1
    [slot] = Slot.objects.filter(participant__isnull=False)
    assert slot.participant_id == participant.pk and slot.pk == values[0]["slot"]
    assert (
        ParticipantStatusChange.objects.filter(
            participant=participant, to_status=ParticipantStatus.RANDOMIZED
        ).count()
        == 1
    )
    assert enqueued["notify"] == [slot.pk]


def test_concurrent_requests_beyond_the_end_of_a_stratum_allocate_each_slot_once(
    users, site_a, site_b, consented, enqueued
):
    """More waiting participants than slots: every slot is used exactly once and
    the rest get StratumExhausted, never a shared or invented slot."""
    statistician = users["statistician"]
    allocation_list = services.list_generate(
        actor=statistician,
        name="Short",
        seed=SEED,
        slots_per_stratum=1,  # one block: 2, 4 or 6 slots
        sites=[site_a, site_b],
    )
    services.list_activate(actor=statistician, allocation_list=allocation_list)
    length = Slot.objects.filter(stratum__key="HAM|complete").count()
    participants = [
        consented(site_b, fracture_status="complete") for _ in range(length + 6)
    ]

    results, errors = _run_concurrently(
        [p.pk for p in participants], _randomize_by_pk(users["randomizer"])
    )

    assert len(results) == length
    assert sorted(v["sequence"] for _, _, v in results) == list(range(1, length + 1))
    assert len(errors) == 6
    assert all(isinstance(exc, StratumExhausted) for _, _, exc in errors), errors
    assert {exc.stratum for _, _, exc in errors} == {"HAM|complete"}
    refused = {participant_pk for _, participant_pk, _ in errors}
    assert set(
        Participant.objects.filter(pk__in=refused).values_list("status", flat=True)
    ) == {ParticipantStatus.CONSENTED}
    assert not Slot.objects.filter(participant__in=refused).exists()
    assert Slot.objects.filter(participant__isnull=False).count() == length
    assert sorted(call["study_id"] for call in enqueued["exhausted"]) == sorted(
        p.study_id for p in participants if p.pk in refused
    )
