"""The rules of single fields that PROTOCOL §7 adds to data entry, checked
together for ``crf.forms.rules.form_rule_errors`` (so by the service, for
every caller): branching logic (``crf.forms.branching``), missing-data codes
and the partial date of primary cancer diagnosis (``crf.forms.missing_data``).
"""

import datetime

from crf.forms.branching import branching_errors
from crf.forms.missing_data import (
    PARTIAL_DATE_FIELDS,
    missing_code_errors,
    partial_date_error,
)
from crf.forms.registry import spec_for_model
from crf.models import CrfForm


def entry_rule_errors(form: CrfForm, *, today: datetime.date) -> dict[str, list]:
    """Field → messages: values in fields that do not apply, bad missing-data
    codes, partial dates that are not real or are in the future."""
    spec = spec_for_model(type(form))
    errors: dict[str, list] = {}
    for checked in (
        branching_errors(form, spec.branching),
        missing_code_errors(form, spec.codable_fields),
    ):
        for name, messages in checked.items():
            errors.setdefault(name, []).extend(messages)
    for name in PARTIAL_DATE_FIELDS & set(spec.fields):
        value = getattr(form, name)
        if value and (problem := partial_date_error(value, today=today)):
            errors.setdefault(name, []).append(problem)
    return errors
