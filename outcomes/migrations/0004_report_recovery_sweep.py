"""Data: the report recovery sweep, as a django-celery-beat row (editable, or
disabled, in the admin; an edit is kept, as for crf's periodic tasks)."""

from django.db import migrations

NAME = "dsmb-reports-recover"
TASK = "outcomes.tasks.reports_recover_task"
EVERY_SECONDS = 60
DESCRIPTION = (
    "Every minute: re-queue DSMB reports whose worker was lost mid-build (no "
    "heartbeat for REPORT_STALE_SECONDS; failed after REPORT_MAX_ATTEMPTS "
    "builds) and send again those no worker claimed for REPORT_QUEUED_SECONDS."
)


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=EVERY_SECONDS, period="seconds"
    )
    PeriodicTask.objects.create(
        name=NAME, task=TASK, description=DESCRIPTION, interval=interval
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0003_report_recovery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
