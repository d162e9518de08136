"""Data: the PROTOCOL §2 role groups and the PROTOCOL §4 eligibility checklist."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CHECKLIST = [
    # (code, kind, order, text)
    ("age_adult", "inclusion", 1, "Age 18 years or older"),
    (
        "mbd_proximal_femur",
        "inclusion",
        2,
        "Metastatic bone disease (or myeloma/lymphoma of bone) of the proximal femur: "
        "femoral head/neck, intertrochanteric or subtrochanteric region",
    ),
    (
        "fracture_impending_or_complete",
        "inclusion",
        3,
        "Impending fracture (Mirels score 9 or more) or complete pathological fracture",
    ),
    ("survival_6_months", "inclusion", 4, "Expected survival of 6 months or more"),
    ("cortical_loss_25_75", "inclusion", 5, "Cortical bone loss between 25% and 75%"),
    (
        "both_procedures_appropriate",
        "inclusion",
        6,
        "Treating surgeon judges both procedures appropriate",
    ),
    ("asa_3_or_less", "inclusion", 7, "ASA class 3 or less"),
    (
        "rcc_oligometastatic",
        "exclusion",
        1,
        "Renal cell carcinoma with oligometastatic disease",
    ),
    ("primary_bone_sarcoma", "exclusion", 2, "Primary bone sarcoma"),
    ("previous_index_surgery", "exclusion", 3, "Previous surgery on the index femur"),
    ("active_infection", "exclusion", 4, "Active infection at the surgical site"),
    ("unable_follow_up", "exclusion", 5, "Unable to attend follow-up"),
]


def forwards(apps, schema_editor):
    from perform.roles import roles_sync

    # Permissions are normally created after migrate; create them now so the
    # groups can be given theirs in this migration.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )
    criterion = apps.get_model("perform", "EligibilityCriterion")
    for code, kind, order, text in CHECKLIST:
        criterion.objects.update_or_create(
            code=code, defaults={"kind": kind, "order": order, "text": text}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("perform", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
