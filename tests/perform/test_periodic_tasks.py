"""The periodic tasks are django-celery-beat rows made by a data migration:
each names a registered task, and re-running the migration keeps admin edits."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from perform.celery import app

migration = importlib.import_module("crf.migrations.0004_periodic_tasks")


@pytest.fixture
def periodic_tasks(db):
    # A transactional test earlier in the run may have flushed the rows.
    migration.create(apps, None)
    return {t.name: t for t in PeriodicTask.objects.all()}


def test_every_periodic_task_is_a_registered_task(periodic_tasks):
    app.loader.import_default_modules()
    assert set(migration.PERIODIC_TASKS) <= set(periodic_tasks)
    for name in migration.PERIODIC_TASKS:
        assert periodic_tasks[name].task in app.tasks, name
        assert periodic_tasks[name].enabled


def test_schedules_are_as_documented(periodic_tasks):
    sweep = periodic_tasks["reminders-sweep"].crontab
    assert (sweep.minute, sweep.hour, str(sweep.timezone)) == ("5", "*", "UTC")
    assert periodic_tasks["outbox-flush"].interval.every == 60
    assert periodic_tasks["outbox-flush"].interval.period == "seconds"


def test_running_the_migration_again_keeps_an_admin_edit(periodic_tasks):
    task = periodic_tasks["reminders-sweep"]
    task.crontab = CrontabSchedule.objects.create(minute="30", hour="*/2")
    task.enabled = False
    task.save()
    migration.create(apps, None)
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == (
        "30",
        "*/2",
        False,
    )
    assert PeriodicTask.objects.filter(name="reminders-sweep").count() == 1
