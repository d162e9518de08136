"""``perform_audit_clock()``, the time pghistory stamps on every audit event
(``settings.PGHISTORY_CREATED_AT_FUNCTION``): created before the event
triggers that call it are re-installed (their migrations depend on this one).
``perform.database`` explains it and re-creates it after every migrate."""

from django.db import migrations


def _install(apps, schema_editor):
    from perform.database import audit_clock_install

    with schema_editor.connection.cursor() as cursor:
        audit_clock_install(cursor)


class Migration(migrations.Migration):
    dependencies = [("perform", "0009_outboundemail_moved")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
