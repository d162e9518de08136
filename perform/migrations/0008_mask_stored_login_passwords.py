"""django-axes kept the form data of failed log-ins, masking only a field
named "password"; the two-factor log-in posts "auth-password" (masked from now
on: settings.AXES_SENSITIVE_PARAMETERS). Blank what was already stored."""

from django.db import migrations


def blank_post_data(apps, schema_editor):
    alias = schema_editor.connection.alias
    for name in ("AccessAttempt", "AccessFailureLog"):
        try:
            model = apps.get_model("axes", name)
        except LookupError:
            continue
        if any(field.name == "post_data" for field in model._meta.fields):
            model.objects.using(alias).exclude(post_data="").update(post_data="")


class Migration(migrations.Migration):
    dependencies = [
        ("perform", "0007_group_permission_events"),
        ("axes", "__latest__"),
    ]

    operations = [migrations.RunPython(blank_post_data, migrations.RunPython.noop)]
