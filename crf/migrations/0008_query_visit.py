"""Queries on a visit's form (issue 15): ``DataQuery.visit``, ``form_id``
optional for a visit's form not entered yet, and the overdue-visit queries
moved from the operative form to that visit's follow-up form.

Every query whose check code is ``missing_follow_up_<visit>`` (open, answered
and closed: a query the data manager closed by hand must stay "accepted" for
the reconciliation, which now looks for it on the visit) is re-anchored on the
follow-up form of its visit with no ``form_id``; queries on entered follow-up
forms get their form's visit. Reversible: the overdue-visit queries go back to
the participant's operative form.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Substr

MISSING_PREFIX = "missing_follow_up_"


def _content_type(apps, model):
    content_type, _ = apps.get_model(
        "contenttypes", "ContentType"
    ).objects.get_or_create(app_label="crf", model=model)
    return content_type


def anchor_on_visits(apps, schema_editor):
    DataQuery = apps.get_model("crf", "DataQuery")
    FollowUp = apps.get_model("crf", "FollowUp")
    if not DataQuery.objects.exists():
        return
    follow_up = _content_type(apps, "followup")
    DataQuery.objects.filter(form_type=follow_up, form_id__isnull=False).update(
        visit=Coalesce(
            Subquery(FollowUp.objects.filter(pk=OuterRef("form_id")).values("visit")),
            Value(""),
        )
    )
    DataQuery.objects.filter(check_code__startswith=MISSING_PREFIX).update(
        form_type=follow_up,
        form_id=None,
        visit=Substr("check_code", len(MISSING_PREFIX) + 1),
    )


def anchor_on_operative(apps, schema_editor):
    DataQuery = apps.get_model("crf", "DataQuery")
    Operative = apps.get_model("crf", "Operative")
    if not DataQuery.objects.filter(form_id__isnull=True).exists():
        return
    DataQuery.objects.filter(form_id__isnull=True).update(
        form_type=_content_type(apps, "operative"),
        form_id=Subquery(
            Operative.objects.filter(participant_id=OuterRef("participant_id")).values(
                "pk"
            )[:1]
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crf", "0007_missing_codes_partial_dates"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="dataquery",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="dataquery",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="dataquery",
            name="delete_delete",
        ),
        migrations.AddField(
            model_name="dataquery",
            name="visit",
            field=models.CharField(blank=True, max_length=5),
        ),
        migrations.AddField(
            model_name="dataqueryevent",
            name="visit",
            field=models.CharField(blank=True, max_length=5),
        ),
        migrations.AlterField(
            model_name="dataquery",
            name="form_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="dataqueryevent",
            name="form_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dataquery",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "crf_dataqueryevent" ("check_code", "closed_at", "field_name", "form_id", "form_type_id", "id", "participant_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id", "status", "text", "visit") VALUES (NEW."check_code", NEW."closed_at", NEW."field_name", NEW."form_id", NEW."form_type_id", NEW."id", NEW."participant_id", _pgh_attach_context(), perform_audit_clock(), \'insert\', NEW."id", NEW."raised_at", NEW."raised_by_id", NEW."status", NEW."text", NEW."visit"); RETURN NULL;',
                    hash="5f5f99386f8b338836a1cf6679ee9b142713160e",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_176c9",
                    table="crf_dataquery",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dataquery",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "crf_dataqueryevent" ("check_code", "closed_at", "field_name", "form_id", "form_type_id", "id", "participant_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id", "status", "text", "visit") VALUES (NEW."check_code", NEW."closed_at", NEW."field_name", NEW."form_id", NEW."form_type_id", NEW."id", NEW."participant_id", _pgh_attach_context(), perform_audit_clock(), \'update\', NEW."id", NEW."raised_at", NEW."raised_by_id", NEW."status", NEW."text", NEW."visit"); RETURN NULL;',
                    hash="6f81ff7ab7470e4c54e6c362503901b5e7229523",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_d1f32",
                    table="crf_dataquery",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="dataquery",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "crf_dataqueryevent" ("check_code", "closed_at", "field_name", "form_id", "form_type_id", "id", "participant_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id", "status", "text", "visit") VALUES (OLD."check_code", OLD."closed_at", OLD."field_name", OLD."form_id", OLD."form_type_id", OLD."id", OLD."participant_id", _pgh_attach_context(), perform_audit_clock(), \'delete\', OLD."id", OLD."raised_at", OLD."raised_by_id", OLD."status", OLD."text", OLD."visit"); RETURN NULL;',
                    hash="e13838c5b65d1b65b15f6547046de3f63392e27f",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_1b989",
                    table="crf_dataquery",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunPython(anchor_on_visits, anchor_on_operative),
        migrations.AddConstraint(
            model_name="dataquery",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("check_code", ""), _negated=True),
                    models.Q(("status", "closed"), _negated=True),
                    ("form_id__isnull", True),
                ),
                fields=("participant", "form_type", "visit", "check_code"),
                name="one_open_automatic_visit_query_per_check",
            ),
        ),
        migrations.AddConstraint(
            model_name="dataquery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("form_id__isnull", False),
                    models.Q(("visit", ""), _negated=True),
                    _connector="OR",
                ),
                name="query_on_a_form_or_a_visit",
            ),
        ),
    ]
