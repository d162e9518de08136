"""Study IDs under concurrent screening: real PostgreSQL, real threads."""

import threading

import pytest
from django.db import DatabaseError, connection

from perform import services
from perform.exceptions import TrialError
from perform.models import Participant, ParticipantStatusChange

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_screenings_at_one_site_get_consecutive_distinct_ids(
    users, site_a, screen
):
    barrier = threading.Barrier(THREADS)
    study_ids, errors = [], []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait(timeout=30)
            participant = screen(users["coordinator"], site_a)
            with lock:
                study_ids.append(participant.study_id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    expected = [f"PRF-TOR-{n:04d}" for n in range(1, THREADS + 1)]
    assert sorted(study_ids) == expected
    assert sorted(Participant.objects.values_list("study_id", flat=True)) == expected
    site_a.refresh_from_db()
    assert site_a.last_participant_number == THREADS
    # Each screening wrote its whole status history: none half-saved.
    assert (
        ParticipantStatusChange.objects.filter(to_status="screened").count() == THREADS
    )


@pytest.mark.django_db(transaction=True)
def test_failed_screening_leaves_no_gap_in_study_ids(
    users, site_a, screen, monkeypatch
):
    screen(users["coordinator"], site_a)
    # Refused input never takes a number ...
    with pytest.raises(TrialError, match="Unknown eligibility criterion"):
        screen(users["coordinator"], site_a, answers={"not_a_criterion": True})

    # ... and a failure after the number was taken gives it back.
    def answers_save_fails(**kwargs):
        raise DatabaseError("connection lost while saving the answers")

    with monkeypatch.context() as patch:
        patch.setattr(services, "_answers_save", answers_save_fails)
        with pytest.raises(DatabaseError, match="connection lost"):
            screen(users["coordinator"], site_a)
    third = screen(users["coordinator"], site_a)
    assert third.study_id == "PRF-TOR-0002"
