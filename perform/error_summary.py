"""The error summary at the top of a page whose form was refused: one line per
field error, linking to the field (``static/js/perform.js`` moves the focus
there). Used by every crispy form that has a summary, so a link lands the same
way everywhere.

A radio group (or a group of check boxes) has no element carrying the field's
own id, only its options (``id_x_0``…); its link goes to the group's wrapper
(crispy's ``div_id_x``, which holds the question), and the script focuses the
chosen option, or the first one.
"""

from django import forms


def field_anchor(bound_field) -> str:
    """The element id a summary line links to for ``bound_field``."""
    if isinstance(
        bound_field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple
    ):
        return f"div_{bound_field.auto_id}"
    return bound_field.auto_id


def form_error_summary(form) -> list[tuple[str, str, str]]:
    """(anchor, label, message) of every field error, in form order (errors
    tied to no field are shown once, at the top of the form)."""
    return [
        (field_anchor(field), field.label, message)
        for field in form
        for message in field.errors
    ]
