"""Randomizing when something goes wrong: nothing half-done, nothing silent.

PROTOCOL §5: a failure in the middle of randomizing leaves no partial
allocation; an exhausted stratum is a clear error and an alert to the
statisticians, never a silent fallback; without an active list (or a stratum
for the participant) nobody is randomized.
"""

import pytest
from django.apps import apps
from django.core import mail
from django.db import DatabaseError, IntegrityError, connection
from kombu.exceptions import OperationalError

from config.celery_app import app
from infrastructure.models import OutboundEmail
from perform import roles
from perform.models import Participant, ParticipantStatus, ParticipantStatusChange
from randomization import services, tasks
from randomization.exceptions import RandomizationClosed, StratumExhausted
from randomization.models import AllocationList, ListEvent, Slot
from randomization.services import randomize as randomize_module
from tests.dbsupport.roles import role_connection
from tests.factories import SiteFactory, user_with_role

RANDOMIZED = ParticipantStatus.RANDOMIZED
SlotEvent = apps.get_model("randomization", "SlotEvent")


@pytest.fixture
def enqueued(monkeypatch):
    """Record enqueued tasks instead of sending them to the broker."""
    calls = {"notify": [], "exhausted": []}
    monkeypatch.setattr(
        tasks.allocation_notify, "delay", lambda **kw: calls["notify"].append(kw)
    )
    monkeypatch.setattr(
        tasks.stratum_exhausted_alert,
        "delay",
        lambda **kw: calls["exhausted"].append(kw),
    )
    return calls


@pytest.fixture
def eager_tasks(monkeypatch):
    """Run tasks in-process (``.delay`` executes at once), as without a worker."""
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)


def assert_untouched(participant, *, used_slots=0):
    """``participant`` is still consented, holds no slot, has no randomization
    in its history or in the slots' audit trail, and ``used_slots`` are used."""
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.CONSENTED
    assert not Slot.objects.filter(participant=participant).exists()
    assert not ParticipantStatusChange.objects.filter(
        participant=participant, to_status=RANDOMIZED
    ).exists()
    assert not SlotEvent.objects.filter(participant=participant).exists()
    assert Slot.objects.filter(participant__isnull=False).count() == used_slots
    assert not Slot.objects.filter(
        participant__isnull=True, allocated_at__isnull=False
    ).exists()
    assert not Slot.objects.filter(
        participant__isnull=True, allocated_by__isnull=False
    ).exists()


# ---------------------------------------------------------------------------
# A failure in the middle of randomizing
# ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("error", [DatabaseError, IntegrityError])
def test_an_error_after_the_slot_is_saved_rolls_the_whole_allocation_back(
    users, site_a, active_list, consented, enqueued, monkeypatch, error
):
    """The service's own transaction is the outermost one here (committing
    test), so this is the rollback a real request would get."""
    participant = consented(site_a)
    seen = {}
    real_status_change = randomize_module.participant_status_change

    def status_change_that_fails(*, participant, **kwargs):
        # The slot is already written inside the transaction when this runs.
        seen["slot"] = Slot.objects.get(participant=participant).sequence
        real_status_change(participant=participant, **kwargs)
        raise error("connection lost after the status change")

    monkeypatch.setattr(
        randomize_module, "participant_status_change", status_change_that_fails
    )
    with pytest.raises(error, match="connection lost"):
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    assert seen == {"slot": 1}
    assert_untouched(participant)
    assert enqueued["notify"] == []  # no e-mail about an allocation that isn't

    monkeypatch.setattr(
        randomize_module, "participant_status_change", real_status_change
    )
    result = services.participant_randomize(
        actor=users["randomizer"],
        participant=Participant.objects.get(pk=participant.pk),
    )
    assert result.created
    assert (result.slot.stratum.key, result.slot.sequence) == ("TOR|impending", 1)
    assert enqueued["notify"] == [{"slot_id": result.slot.pk}]
    # The audit trail assertion above is not vacuous: a real allocation shows.
    assert SlotEvent.objects.filter(participant=participant).exists()


FAIL_ON_RANDOMIZED = """
CREATE FUNCTION test_refuse_randomized() RETURNS trigger AS $$
BEGIN
    IF NEW.to_status = 'randomized'
            AND current_setting('test.refuse_randomized', true) = 'on' THEN
        RAISE EXCEPTION 'simulated failure writing the status history';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_randomized BEFORE INSERT
    ON perform_participantstatuschange
    FOR EACH ROW EXECUTE FUNCTION test_refuse_randomized();
"""


@pytest.fixture(scope="module")
def refusing_trigger(django_db_setup):
    """A trigger that fails the status-history insert while the session sets
    ``test.refuse_randomized``. Made and dropped by the owner role (the tests
    run as the application role, which may not create triggers), outside any
    test's transaction (module scope), so neither waits for the other's locks."""
    with role_connection("owner", autocommit=True) as owner:
        with owner.cursor() as cursor:
            cursor.execute(FAIL_ON_RANDOMIZED)
        try:
            yield
        finally:
            with owner.cursor() as cursor:
                cursor.execute(
                    "DROP TRIGGER test_refuse_randomized "
                    "ON perform_participantstatuschange; "
                    "DROP FUNCTION test_refuse_randomized()"
                )


@pytest.mark.django_db
def test_a_database_error_on_the_last_write_leaves_no_partial_allocation(
    refusing_trigger,
    users,
    site_a,
    active_list,
    consented,
    django_capture_on_commit_callbacks,
):
    """A real PostgreSQL error (a trigger refusing the status-history row, the
    last write of randomizing) undoes the slot and the status change."""
    participant = consented(site_a)
    with connection.cursor() as cursor:
        cursor.execute("SET test.refuse_randomized = 'on'")
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(DatabaseError, match="simulated failure"),
    ):
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    assert callbacks == []
    assert_untouched(participant)

    with connection.cursor() as cursor:
        cursor.execute("SET test.refuse_randomized = 'off'")
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert result.created and result.slot.sequence == 1


@pytest.mark.django_db
def test_a_slot_taken_behind_the_services_back_is_not_given_twice(
    users, site_a, active_list, consented
):
    """The unique constraint on slot.participant is the backstop: a second slot
    for a participant is refused by the database itself."""
    participant = consented(site_a)
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    second = Slot.objects.get(stratum__key="TOR|impending", sequence=2)
    second.participant = participant
    second.allocated_at = result.slot.allocated_at
    with pytest.raises(IntegrityError):
        second.save()


# ---------------------------------------------------------------------------
# Exhaustion
# ---------------------------------------------------------------------------
@pytest.fixture
def short_list(users, site_a, site_b):
    """An active list of one block per stratum (2, 4 or 6 slots)."""
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="Short",
        seed=4242,
        slots_per_stratum=1,
        sites=[site_a, site_b],
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


def _fill(stratum_key, site, status, consented, randomizer):
    length = Slot.objects.filter(stratum__key=stratum_key).count()
    for _ in range(length):
        services.participant_randomize(
            actor=randomizer, participant=consented(site, fracture_status=status)
        )
    return length


@pytest.mark.django_db
def test_an_exhausted_stratum_is_a_clear_error_that_allocates_nothing(
    users, site_a, short_list, consented, enqueued
):
    randomizer = users["randomizer"]
    length = _fill("TOR|complete", site_a, "complete", consented, randomizer)
    waiting = consented(site_a, fracture_status="complete")

    with pytest.raises(StratumExhausted) as error:
        services.participant_randomize(actor=randomizer, participant=waiting)

    assert error.value.stratum == "TOR|complete"
    assert "stratum TOR|complete is used up" in str(error.value)
    assert "Nobody was randomized" in str(error.value)
    assert_untouched(waiting, used_slots=length)
    assert enqueued["exhausted"] == [
        {
            "stratum_id": short_list.strata.get(key="TOR|complete").pk,
            "study_id": waiting.study_id,
        }
    ]
    # Another stratum of the same site is not affected.
    other = consented(site_a, fracture_status="impending")
    result = services.participant_randomize(actor=randomizer, participant=other)
    assert (result.slot.stratum.key, result.slot.sequence) == ("TOR|impending", 1)


def exhausted_key(allocation_list, stratum_key, allocated):
    return f"stratum-exhausted:{allocation_list.pk}:{stratum_key}:{allocated}-allocated"


@pytest.mark.django_db
def test_exhaustion_alerts_the_statisticians_and_logs_it_on_the_list(
    users,
    site_a,
    short_list,
    consented,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    second_statistician = user_with_role(roles.STATISTICIAN, username="statistician2")
    randomizer = users["randomizer"]
    length = _fill("TOR|complete", site_a, "complete", consented, randomizer)
    assert mail.outbox == []  # allocation e-mails wait for a commit
    waiting = consented(site_a, fracture_status="complete")

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(StratumExhausted),
    ):
        services.participant_randomize(actor=randomizer, participant=waiting)

    [event] = ListEvent.objects.filter(action=ListEvent.Action.EXHAUSTED)
    assert event.allocation_list == short_list
    assert event.detail == {"stratum": "TOR|complete", "study_id": waiting.study_id}
    [row] = OutboundEmail.objects.filter(kind="stratum_exhausted")
    assert row.key == exhausted_key(short_list, "TOR|complete", length)
    assert row.status == OutboundEmail.Status.SENT
    [message] = mail.outbox
    assert sorted(message.to) == sorted(
        [users["statistician"].email, second_statistician.email]
    )
    assert "TOR|complete" in message.subject
    assert waiting.study_id in message.body
    assert_untouched(waiting, used_slots=length)


@pytest.mark.django_db
def test_an_exhausted_stratum_is_one_email_however_many_are_turned_away(
    client, users, site_a, short_list, consented, eager_tasks
):
    """Each refusal is logged on the list; the e-mail is written once per
    exhaustion, and again only when the stratum runs out after an extension."""
    randomizer = users["randomizer"]
    length = _fill("TOR|complete", site_a, "complete", consented, randomizer)
    turned_away = [consented(site_a, fracture_status="complete") for _ in range(3)]
    for participant in turned_away[:2]:
        with pytest.raises(StratumExhausted):
            services.participant_randomize(actor=randomizer, participant=participant)

    events = ListEvent.objects.filter(action=ListEvent.Action.EXHAUSTED)
    assert [e.detail["study_id"] for e in events] == [
        p.study_id for p in turned_away[:2]
    ]
    rows = OutboundEmail.objects.filter(kind="stratum_exhausted")
    first = exhausted_key(short_list, "TOR|complete", length)
    assert list(rows.values_list("key", flat=True)) == [first]
    assert turned_away[0].study_id in rows.get().body_text

    # Extended by one block, used up, and exhausted again: news again.
    services.list_extend(
        actor=users["statistician"],
        allocation_list=short_list,
        levels={"site": "TOR", "fracture_status": "complete"},
        min_slots=1,
        reason="Stratum exhausted",
    )
    added = Slot.objects.filter(stratum__key="TOR|complete").count() - length
    for _ in range(added):
        services.participant_randomize(
            actor=randomizer, participant=consented(site_a, fracture_status="complete")
        )
    with pytest.raises(StratumExhausted):
        services.participant_randomize(actor=randomizer, participant=turned_away[2])
    second = exhausted_key(short_list, "TOR|complete", length + added)
    assert sorted(rows.values_list("key", flat=True)) == sorted([first, second])

    # Both on the e-mail log, with their keys.
    client.force_login(users["datamanager"])
    page = client.get("/emails/", {"kind": "stratum_exhausted"}).content.decode()
    assert f'data-key="{first}"' in page and f'data-key="{second}"' in page


@pytest.mark.django_db
def test_once_the_stratum_is_extended_the_waiting_participant_is_randomized(
    users, site_a, short_list, consented, enqueued
):
    randomizer = users["randomizer"]
    length = _fill("TOR|complete", site_a, "complete", consented, randomizer)
    waiting = consented(site_a, fracture_status="complete")
    with pytest.raises(StratumExhausted):
        services.participant_randomize(actor=randomizer, participant=waiting)

    services.list_extend(
        actor=users["statistician"],
        allocation_list=short_list,
        levels={"site": "TOR", "fracture_status": "complete"},
        min_slots=2,
        reason="Stratum exhausted",
    )
    result = services.participant_randomize(actor=randomizer, participant=waiting)
    assert (result.slot.stratum.key, result.slot.sequence) == (
        "TOR|complete",
        length + 1,
    )


# ---------------------------------------------------------------------------
# Closed
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_without_an_active_list_randomization_is_closed(users, site_a, consented):
    services.list_generate(  # a draft is not enough
        actor=users["statistician"], name="Draft", seed=1, slots_per_stratum=4
    )
    participant = consented(site_a)
    with pytest.raises(RandomizationClosed, match="no allocation list is active"):
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    assert_untouched(participant)


@pytest.mark.django_db
def test_a_retired_list_does_not_randomize(users, site_a, active_list, consented):
    AllocationList.objects.filter(pk=active_list.pk).update(
        status=AllocationList.Status.RETIRED
    )
    participant = consented(site_a)
    with pytest.raises(RandomizationClosed):
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
    assert_untouched(participant)


@pytest.mark.django_db
def test_a_participant_whose_stratum_is_not_in_the_list_is_refused_naming_it(
    users, active_list, consented, enqueued
):
    site_c = SiteFactory(code="OSL", name="Oslo", time_zone="Europe/Oslo")
    coordinator = user_with_role(
        roles.SITE_COORDINATOR, username="coordinator3", sites=[site_c]
    )
    participant = consented(site_c, fracture_status="complete", coordinator=coordinator)

    with pytest.raises(RandomizationClosed) as error:
        services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )

    assert error.value.stratum == "OSL|complete"
    assert "The active list has no stratum OSL|complete" in str(error.value)
    assert_untouched(participant)
    assert enqueued == {"notify": [], "exhausted": []}


# ---------------------------------------------------------------------------
# The broker is down
# ---------------------------------------------------------------------------
def _broker_down(**kwargs):
    raise OperationalError(
        "Error 111 connecting to 127.0.0.1:6379. Connection refused."
    )


@pytest.mark.django_db
def test_exhaustion_is_reported_even_when_the_alert_cannot_be_queued(
    users, site_a, short_list, consented, monkeypatch
):
    monkeypatch.setattr(tasks.stratum_exhausted_alert, "delay", _broker_down)
    randomizer = users["randomizer"]
    length = _fill("TOR|complete", site_a, "complete", consented, randomizer)
    waiting = consented(site_a, fracture_status="complete")
    with pytest.raises(StratumExhausted):
        services.participant_randomize(actor=randomizer, participant=waiting)
    assert_untouched(waiting, used_slots=length)
    # Recorded in the request instead: the outbox sends it once it can.
    assert ListEvent.objects.filter(action=ListEvent.Action.EXHAUSTED).count() == 1
    row = OutboundEmail.objects.get(kind="stratum_exhausted")
    assert row.key == exhausted_key(short_list, "TOR|complete", length)
    assert row.status == OutboundEmail.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_committed_randomization_is_returned_even_when_the_email_cannot_be_queued(
    users, site_a, active_list, consented, monkeypatch
):
    monkeypatch.setattr(tasks.allocation_notify, "delay", _broker_down)
    participant = consented(site_a)
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert result.created and result.slot.sequence == 1
    participant.refresh_from_db()
    assert participant.status == RANDOMIZED
