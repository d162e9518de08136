"""Outbox rows may hold a credential (a password link): such a body is shown
nowhere and erased once the row is sent or has failed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("infrastructure", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="holds_credential",
            field=models.BooleanField(default=False),
        ),
    ]
