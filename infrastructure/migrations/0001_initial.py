"""The outbox's table moves here from the perform app, by state only.

The table (``perform_outboundemail``), its rows, its index and the permission
ids granted to roles stay as they were: the model takes over the table under
its old name, the content type is relabelled (so ``view_outboundemail`` keeps
its id and every role keeps it), and the beat row that runs the outbox flush
names the task's new module. ``perform.0009`` removes the model from perform's
state afterwards.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

OLD_TASK = "perform.tasks.outbox_flush"
NEW_TASK = "infrastructure.tasks.outbox_flush"


def relabel(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="perform", model="outboundemail").update(
        app_label="infrastructure"
    )
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=OLD_TASK).update(task=NEW_TASK)


def relabel_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(
        app_label="infrastructure", model="outboundemail"
    ).update(app_label="perform")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=NEW_TASK).update(task=OLD_TASK)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("perform", "0008_mask_stored_login_passwords"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboundEmail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=200, unique=True)),
                        ("kind", models.CharField(max_length=40)),
                        (
                            "to",
                            django.contrib.postgres.fields.ArrayField(
                                base_field=models.EmailField(max_length=254),
                                default=list,
                                size=None,
                            ),
                        ),
                        ("subject", models.CharField(max_length=300)),
                        ("body_text", models.TextField()),
                        ("body_html", models.TextField(blank=True)),
                        ("message_id", models.CharField(max_length=200)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Not sent"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "next_attempt_at",
                            models.DateTimeField(blank=True, null=True),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "perform_outboundemail",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status", "pending")),
                                fields=["next_attempt_at"],
                                name="outbound_email_pending",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(relabel, relabel_back),
    ]
