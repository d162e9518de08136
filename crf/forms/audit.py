"""How the audit trail (``perform.audit_trail``) names the CRF records: each
form by its label, with the visit of a follow-up and the number of a
repeatable form as its page shows them ("Follow-up visit: 6 weeks",
"Adverse event #12"); a data query by the form and field it is on.
Registered from ``crf.apps``."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist

from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, FormSpec
from crf.schedule.visits import visit_labels
from perform.audit_records import AuditLabels, AuditRecordKind


def _form_describer(spec: FormSpec):
    def describe(data: dict, object_id: str, _labels: AuditLabels) -> str:
        if spec.kind == PER_VISIT:
            visit = data.get("visit")
            return f"{spec.label}: {visit_labels().get(visit, visit)}"
        if spec.kind == REPEATABLE:
            return f"{spec.label} #{object_id}"
        return spec.label

    return describe


def _data_query(data: dict, object_id: str, labels: AuditLabels) -> str:
    form = labels.name(ContentType, data.get("form_type_id"))
    spec = next(
        (spec for spec in FORMS.values() if spec.model._meta.label_lower == form),
        None,
    )
    if spec is None:
        return f"Data query #{object_id}"
    where = spec.label
    if spec.kind == REPEATABLE:
        where = f"{where} #{data.get('form_id')}"
    field_name = data.get("field_name")
    if field_name:
        try:
            field = spec.model._meta.get_field(field_name)
        except FieldDoesNotExist:
            where = f"{where}, {field_name}"
        else:
            where = f"{where}, {field.verbose_name}"
    return f"Data query #{object_id} on {where}"


def audit_record_kinds() -> list[AuditRecordKind]:
    kinds = [
        AuditRecordKind(
            spec.model._meta.label, spec.label, _form_describer(spec), order=20 + n
        )
        for n, spec in enumerate(FORMS.values())
    ]
    kinds.append(AuditRecordKind("crf.DataQuery", "Data query", _data_query, order=60))
    return kinds
