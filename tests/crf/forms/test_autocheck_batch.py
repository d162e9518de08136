"""After a save commits, the automatic checks re-run for the participants
saved: once per transaction, for all of them together (one run of a fixed
number of SQL queries), not once per form."""

import datetime

import pytest
from celery import current_app
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crf.forms import services
from crf.models import DataQuery, Operative
from crf.schedule.visits import site_today

DAY = datetime.timedelta(days=1)


@pytest.fixture
def in_process_tasks():
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = eager


@pytest.fixture
def participants(users, site_a, screen, randomize):
    today = site_today(site_a.time_zone)
    return [
        randomize(
            screen(users["coordinator"], site_a, screening_date=today - 40 * DAY),
            on=today - 30 * DAY,
        )
        for _ in range(4)
    ]


def save_operatives(users, participants, site_a, blood_loss_ml=400):
    """9,000 mL is inside the field's range, outside the automatic check's
    plausible one: each save then has a query to raise."""
    today = site_today(site_a.time_zone)
    for participant in participants:
        services.form_save(
            actor=users["coordinator"],
            form=Operative(
                participant=participant,
                surgery_date=today - 20 * DAY,
                procedure="IF",
                implant="Cephalomedullary nail",
                duration_min=95,
                blood_loss_ml=blood_loss_ml,
                transfusion_units=1,
            ),
            complete=True,
        )


def queries_at_commit(users, participants, site_a, capture, blood_loss_ml=400) -> int:
    with capture() as callbacks, transaction.atomic():
        save_operatives(users, participants, site_a, blood_loss_ml)
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    return len(queries)


def test_one_transaction_checks_all_its_participants_in_one_run(
    users, participants, site_a, in_process_tasks, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    queries_at_commit(users, participants[:1], site_a, capture)  # warms caches
    one = queries_at_commit(users, participants[1:2], site_a, capture)
    two = queries_at_commit(users, participants[2:], site_a, capture)
    # Two participants' checks cost what one's did: one run, not one per form.
    assert two == one


def test_each_participant_of_the_transaction_gets_its_query(
    users, participants, site_a, in_process_tasks, django_capture_on_commit_callbacks
):
    queries_at_commit(
        users, participants, site_a, django_capture_on_commit_callbacks, 9000
    )
    raised = DataQuery.objects.exclude(check_code="").filter(field_name="blood_loss_ml")
    assert sorted(raised.values_list("participant_id", flat=True)) == sorted(
        p.pk for p in participants
    )
