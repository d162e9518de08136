"""Branching logic: a field shown only when another field of the form has
one of some values (``ShownWhen``), declared once per form in the registry
(``FormSpec.branching``).

The browser applies it (``static/js/branching.js`` reads the ``data-shown-when-*``
attributes ``crf.forms.field_wrappers`` renders on each field's wrapper: a
hidden field's inputs are disabled, so they are not posted). The server
enforces it: ``branching_errors``, called by ``crf.forms.rules.form_rule_errors``
and so by the service for every caller, refuses a value (or a missing-data
code) in a field whose condition is false, naming the condition. A hidden
field is therefore never saved: the web form posts nothing for it, and an API
client that sends a value, or keeps an old one, is told to clear it.
"""

import json
from dataclasses import dataclass

from crf.forms.missing_data import value_given
from crf.models import CrfForm


@dataclass(frozen=True)
class ShownWhen:
    """Shown when ``field``'s value is one of ``values``."""

    field: str
    values: tuple

    def applies(self, form: CrfForm) -> bool:
        return getattr(form, self.field) in self.values

    def browser_values(self) -> str:
        """The values as the page's inputs carry them (JSON; ``true`` for
        ``True``), read by ``static/js/branching.js``."""
        return json.dumps([_browser_value(value) for value in self.values])


def _browser_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown_value(form: CrfForm, name: str) -> str:
    """The controlling field's value as the page shows it."""
    value = getattr(form, name)
    if value is None or value == "":
        return "not answered"
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if form._meta.get_field(name).choices:
        return str(getattr(form, f"get_{name}_display")())
    return str(value)


def _label(form: CrfForm, name: str) -> str:
    return str(form._meta.get_field(name).verbose_name).capitalize()


def branching_errors(
    form: CrfForm, branching: dict[str, ShownWhen]
) -> dict[str, list[str]]:
    """Field → message for every field holding a value or a missing-data code
    while its condition is false: "Resulted in death does not apply when
    Serious is No: clear it."."""
    errors: dict[str, list[str]] = {}
    codes = form.missing_codes or {}
    for name, condition in branching.items():
        if condition.applies(form):
            continue
        if value_given(form, name) or name in codes:
            errors[name] = [
                f"{_label(form, name)} does not apply when "
                f"{_label(form, condition.field)} is "
                f"{_shown_value(form, condition.field)}: clear it."
            ]
    return errors
