"""What each CRF field's wrapper carries on the page: its branching condition
(``data-shown-when-field`` / ``data-shown-when-values``, read by
``static/js/branching.js``) and, for a field that may be coded, the compact
"Missing?" select of PROTOCOL §7's missing-data codes beside it.

``field_wrappers_apply`` is called at the end of ``CrfModelForm.__init__``: it
adds a ``missing__<field>`` select per codable field and wraps each field of
the layout (whatever layout object renders it) in a ``div.crf-item`` with its
select. ``missing_codes_cleaned`` turns the posted selects into the form's
``missing_codes``. What a code means and whether it may be used is decided by
the service's rules (``crf.forms.missing_data``), not here.
"""

from crispy_forms.layout import Div, Field
from crispy_forms.layout_slice import LayoutSlice
from django import forms

from crf.forms.missing_data import PARTIAL_DATE_FIELDS, PARTIAL_DATE_FORMAT
from crf.models import MissingCode

MISSING_PREFIX = "missing__"
NO_CODE = ("", "Missing?")


def _missing_select(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label="",
        required=False,
        choices=[NO_CODE, *MissingCode.choices],
        widget=forms.Select(
            attrs={
                "class": "form-select form-select-sm crf-missing",
                "aria-label": f"Why is {label} missing?",
                "title": "If there is no value: why (missing-data code)",
            }
        ),
    )


def _outer_pointer(layout, pointer):
    """The pointer to the outermost object rendering only this field (a
    ``Field``, or a subclass like a radio group, wrapping the name)."""
    positions = list(pointer.positions)
    while len(positions) > 1:
        parent = layout
        for i in positions[:-2]:
            parent = parent.fields[i]
        candidate = parent.fields[positions[-2]]
        if not isinstance(candidate, Field):
            break
        positions = positions[:-1]
    return type(pointer)(positions, pointer.name)


def field_wrappers_apply(form) -> None:
    """Add the missing-code selects and wrap each field of ``form.helper``'s
    layout with its branching data and its select."""
    spec = form.spec
    codes = form.instance.missing_codes or {}
    codable = set(spec.codable_fields)
    layout = form.helper.layout
    for name in spec.fields:
        if name not in form.fields:
            continue
        parts = []
        if name in PARTIAL_DATE_FIELDS:
            form.fields[name].widget.attrs["placeholder"] = PARTIAL_DATE_FORMAT
        if name in codable:
            select = f"{MISSING_PREFIX}{name}"
            form.fields[select] = _missing_select(str(form.fields[name].label))
            form.fields[select].initial = codes.get(name, "")
            parts.append(select)
        attrs = {"css_class": "crf-item", "data_field": name}
        condition = spec.branching.get(name)
        if condition is not None:
            attrs["data_shown_when_field"] = condition.field
            attrs["data_shown_when_values"] = condition.browser_values()
        pointers = [p for p in layout.get_field_names() if p.name == name]
        if pointers:
            outer = _outer_pointer(layout, pointers[0])
            LayoutSlice(layout, [outer]).wrap(Div, *parts, **attrs)


def missing_codes_cleaned(form, cleaned: dict) -> dict[str, str]:
    """Field name → code chosen in the posted selects."""
    return {
        name: cleaned[f"{MISSING_PREFIX}{name}"]
        for name in form.spec.codable_fields
        if cleaned.get(f"{MISSING_PREFIX}{name}")
    }
