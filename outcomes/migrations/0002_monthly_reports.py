"""Data: the monthly DSMB reports, as a django-celery-beat row (editable, or
disabled, in the admin; an edit is kept, as for crf's periodic tasks)."""

from django.db import migrations

NAME = "dsmb-reports-monthly"
TASK = "outcomes.tasks.reports_monthly_task"
DESCRIPTION = (
    "Monthly, on the 1st at 05:00 UTC: queue the open and closed DSMB reports "
    "with the last day of the previous month as the data cut-off; DSMB members "
    "are e-mailed a link when each is ready."
)


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="5",
        day_of_week="*",
        day_of_month="1",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=NAME, task=TASK, description=DESCRIPTION, crontab=crontab
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
