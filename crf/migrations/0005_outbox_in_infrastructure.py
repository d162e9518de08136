"""The outbox's model moved to the infrastructure app (its 0001) with its table
unchanged: the reminders' and alerts' foreign keys follow it in the migration
state only (the database constraints already point at that table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crf", "0004_periodic_tasks"),
        ("infrastructure", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="safetyalert",
                    name="email",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="safety_alert",
                        to="infrastructure.outboundemail",
                    ),
                ),
                migrations.AlterField(
                    model_name="visitreminder",
                    name="email",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="visit_reminders",
                        to="infrastructure.outboundemail",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
