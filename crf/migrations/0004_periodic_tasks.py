"""Data: the periodic tasks, as django-celery-beat rows (editable in the admin).

Created here once; a later edit in the admin is kept (the beat's database
scheduler reads these rows, and nothing in settings overwrites them). Running
the migration again, or after an admin edit, leaves existing rows alone.
"""

from django.db import migrations

# name: (task, schedule, description). Schedules: ("every", seconds) or
# ("crontab", minute, hour) in UTC.
PERIODIC_TASKS = {
    "reminders-sweep": (
        "crf.tasks.reminders_sweep_task",
        ("crontab", "5", "*"),
        "Hourly: each site's daily visit digest once its local time passes "
        "REMINDERS['DAILY_HOUR'], the Methods Centre's weekly digest, and any "
        "digest an earlier sweep left unsent.",
    ),
    "outbox-flush": (
        "infrastructure.tasks.outbox_flush",
        ("every", 60),
        "Every minute: (re)send outbox e-mails whose send task was lost or "
        "whose retry time has come.",
    ),
    "allocation-notify-pending": (
        "randomization.tasks.allocation_notify_pending",
        ("every", 300),
        "Every 5 minutes: allocation e-mails not yet queued.",
    ),
    "queries-autocheck": (
        "crf.tasks.queries_autocheck_task",
        ("crontab", "15", "2"),
        "Daily: automatic data checks (overdue visits, out-of-window dates).",
    ),
}


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, (task, schedule, description) in PERIODIC_TASKS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if schedule[0] == "every":
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=schedule[1], period="seconds"
            )
            when = {"interval": interval}
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule[1],
                hour=schedule[2],
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            when = {"crontab": crontab}
        PeriodicTask.objects.create(
            name=name, task=task, description=description, **when
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=PERIODIC_TASKS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crf", "0003_safety_alerts_and_visit_reminders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
