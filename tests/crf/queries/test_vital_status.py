"""A follow-up recording vital status "dead" needs a Death form (PROTOCOL §7,
§10): without a complete one, an automatic query on the follow-up's vital
status, raised when the follow-up is saved and by the nightly checks, closed
by a complete Death form (a draft one is not data) or a corrected vital
status."""

import datetime

import pytest

from crf.forms import services
from crf.models import DataQuery, Death, FollowUp, FormStatus, Operative
from crf.queries.automatic import DEAD_CHECK, queries_autocheck
from crf.schedule.visits import site_today

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return site_today("America/Toronto")  # site A


@pytest.fixture
def operated(users, site_a, screen, randomize, today):
    """Randomized 60 days ago, operated on 50 days ago: the 6-week window
    (days 35–56) is open."""
    participant = randomize(screen(users["coordinator"], site_a), on=today - 60 * DAY)
    services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=participant,
            surgery_date=today - 50 * DAY,
            procedure="IF",
            implant="Cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )
    return participant


def visit_day(today):
    return today - 10 * DAY  # day 40 after surgery


def follow_up_dead(actor, participant, today, *, complete=True):
    return services.form_save(
        actor=actor,
        form=FollowUp(
            participant=participant,
            visit="6w",
            visit_date=visit_day(today),
            vital_status=FollowUp.VitalStatus.DEAD,
        ),
        complete=complete,
    )


def death_save(actor, participant, today, *, complete):
    return services.form_save(
        actor=actor,
        form=Death(
            participant=participant,
            death_date=visit_day(today),
            primary_cause=Death.Cause.PROGRESSION,
        ),
        complete=complete,
    )


def dead_queries():
    return DataQuery.objects.filter(check_code=DEAD_CHECK)


def expected_text(today):
    return (
        f"Vital status is 'dead' at the 6-week visit ({visit_day(today):%d %b %Y}) "
        "but no Death form is complete: enter the Death form, or correct the "
        "vital status."
    )


@pytest.mark.django_db
def test_saving_a_complete_follow_up_recording_dead_raises_the_query(
    users, operated, today
):
    draft = follow_up_dead(users["coordinator"], operated, today, complete=False)
    assert not dead_queries().exists()  # a draft is still being entered

    follow_up = services.form_save(
        actor=users["coordinator"], form=draft, complete=True
    )
    query = dead_queries().get()  # with the form, not only after the nightly run
    assert query.status == DataQuery.Status.OPEN
    assert query.form == follow_up and query.field_name == "vital_status"
    assert query.participant == operated
    assert query.text == expected_text(today)
    assert query.messages.get().action == "raised"


@pytest.mark.django_db
def test_the_nightly_checks_raise_it_for_a_stored_follow_up(users, operated, today):
    # Stored before the check existed (written around the service).
    follow_up = FollowUp.objects.create(
        participant=operated,
        visit="6w",
        visit_date=visit_day(today),
        vital_status=FollowUp.VitalStatus.DEAD,
        status=FormStatus.COMPLETE,
        created_by=users["coordinator"],
        updated_by=users["coordinator"],
    )
    assert not dead_queries().exists()
    queries_autocheck()
    query = dead_queries().get()
    assert (query.form, query.field_name) == (follow_up, "vital_status")
    assert query.text == expected_text(today)
    queries_autocheck()
    assert dead_queries().count() == 1  # no duplicate


@pytest.mark.django_db
def test_a_complete_death_form_closes_the_query(users, operated, today):
    follow_up_dead(users["coordinator"], operated, today)
    query = dead_queries().get()
    death_save(users["coordinator"], operated, today, complete=True)
    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    closing = query.messages.last()
    assert closing.action == "closed" and closing.by is None
    assert closing.text.startswith("Resolved:")
    queries_autocheck()
    assert dead_queries().get().status == DataQuery.Status.CLOSED


@pytest.mark.django_db
def test_a_draft_death_form_does_not_close_the_query(users, operated, today):
    follow_up_dead(users["coordinator"], operated, today)
    death_save(users["coordinator"], operated, today, complete=False)
    queries_autocheck()
    assert dead_queries().get().status == DataQuery.Status.OPEN


@pytest.mark.django_db
def test_correcting_the_vital_status_closes_the_query(users, operated, today):
    follow_up = follow_up_dead(users["coordinator"], operated, today)
    assert dead_queries().get().status == DataQuery.Status.OPEN
    follow_up.vital_status = FollowUp.VitalStatus.ALIVE
    services.form_save(
        actor=users["coordinator"],
        form=follow_up,
        complete=True,
        reason="Entered in the wrong row",
    )
    assert dead_queries().get().status == DataQuery.Status.CLOSED
