"""The outbox's model now belongs to the infrastructure app (its 0001, which
took over the table under its old name): removed from perform's state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("perform", "0008_mask_stored_login_passwords"),
        ("infrastructure", "0001_initial"),
        # The foreign keys to it follow first.
        ("crf", "0005_outbox_in_infrastructure"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboundEmail")],
            database_operations=[],
        ),
    ]
