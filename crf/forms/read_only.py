"""A CRF shown read-only (a locked form, a form the lifecycle no longer
allows, a user who may only view): each field's label and value as a reader
expects it, with a missing-data code by its label and a partial date as
entered, and the query marker of the field (``crf.queries.markers``)."""

from crf.forms.missing_data import missing_code_label
from crf.forms.registry import FormSpec
from crf.models import CrfForm


def display_value(instance: CrfForm, name: str):
    """The value as shown read-only: a missing-data code by its label, a
    partial date as entered."""
    code = (instance.missing_codes or {}).get(name)
    if code:
        return missing_code_label(code)
    field = instance._meta.get_field(name)
    value = getattr(instance, name)
    if value is None or value == "":
        return None
    if field.choices:
        return getattr(instance, f"get_{name}_display")()
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return value


def read_only_fieldsets(spec: FormSpec, instance: CrfForm | None, markers=None):
    """(legend, [(label, value, name, query marker)]) for showing a form that
    may not be edited (``markers``: ``crf.queries.markers``)."""
    if instance is None:
        return []
    marked = markers.fields if markers else {}
    return [
        (
            legend,
            [
                (
                    instance._meta.get_field(name).verbose_name,
                    display_value(instance, name),
                    name,
                    marked.get(name),
                )
                for name in names
            ],
        )
        for legend, names in spec.fieldsets
    ]
