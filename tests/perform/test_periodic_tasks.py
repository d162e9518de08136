"""The periodic tasks are django-celery-beat rows made by a data migration:
each names a registered task, and re-running the migration keeps admin edits."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery_app import app

migration = importlib.import_module("crf.migrations.0004_periodic_tasks")
# The outcomes app's rows, one per migration.
OUTCOMES_MIGRATIONS = [
    importlib.import_module(f"outcomes.migrations.{name}")
    for name in ("0002_monthly_reports", "0004_report_recovery_sweep")
]


@pytest.fixture
def periodic_tasks(db):
    # A transactional test earlier in the run may have flushed the rows.
    migration.create(apps, None)
    for module in OUTCOMES_MIGRATIONS:
        module.create(apps, None)
    return {t.name: t for t in PeriodicTask.objects.all()}


def test_every_periodic_task_is_a_registered_task(periodic_tasks):
    app.loader.import_default_modules()
    names = {*migration.PERIODIC_TASKS, *(m.NAME for m in OUTCOMES_MIGRATIONS)}
    assert names <= set(periodic_tasks)
    for name in names:
        assert periodic_tasks[name].task in app.tasks, name
        assert periodic_tasks[name].enabled


def test_schedules_are_as_documented(periodic_tasks):
    sweep = periodic_tasks["reminders-sweep"].crontab
    assert (sweep.minute, sweep.hour, str(sweep.timezone)) == ("5", "*", "UTC")
    for every_minute in ("outbox-flush", "dsmb-reports-recover"):
        assert periodic_tasks[every_minute].interval.every == 60
        assert periodic_tasks[every_minute].interval.period == "seconds"
    monthly = periodic_tasks["dsmb-reports-monthly"].crontab
    assert (monthly.day_of_month, monthly.hour, monthly.minute) == ("1", "5", "0")


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
