"""PROTOCOL §7's missing data: missing-data codes and partial dates.

A field that may be missing can hold, instead of its value, a code saying why
(``crf.models.MissingCode``: NA, UNK, ND, ILL, DEC, DIED), kept in the form's
``missing_codes`` (field name → code), apart from blank. Which fields may be
coded is declared per form in the registry (``FormSpec.codable_fields``).
``missing_code_errors`` is the one check of a form's codes; its caller is
``crf.forms.rules.form_rule_errors``, so the service (``form_save``) refuses a
bad code from the web form, the API and the demo seeder alike.

A coded field counts as answered (``field_answered``): a form whose required
fields are all given or coded can be saved as complete, so it counts as
complete in every figure that counts complete forms (the data-quality
dashboard, the report's completeness tables). Scores treat a coded item as
unanswered: its value is empty, and ``crf.forms.scoring`` skips empty items.

Partial dates are allowed only for the date of primary cancer diagnosis
(``Baseline.primary_cancer_diagnosis``, stored as entered: YYYY, YYYY-MM or
YYYY-MM-DD); PROTOCOL §7 also allows them for previous treatments, but the
Baseline form has no previous-treatment field, so there is none to allow them
on. ``partial_date_error`` is its one check. Hand-written: a partial date is
three regular expressions and ``datetime.date``; no library keeps one as
entered.
"""

import datetime
import re

from django.db import models

from crf.models import CrfForm, MissingCode

CODE_VALUES = frozenset(MissingCode.values)


def missing_code_label(code: str) -> str:
    """How a code is shown: "Not done (ND)"."""
    return f"{MissingCode(code).label} ({code})"


def value_given(form: CrfForm, name: str) -> bool:
    """Whether the field holds a value (a checkbox holds one when ticked)."""
    value = getattr(form, name)
    field = form._meta.get_field(name)
    if isinstance(field, models.BooleanField) and not field.null:
        return bool(value)
    return value is not None and value != ""


def field_answered(form: CrfForm, name: str) -> bool:
    """Given a value or a missing-data code: what "save as complete" needs."""
    return value_given(form, name) or name in (form.missing_codes or {})


def may_be_coded(model: type[CrfForm], name: str) -> bool:
    """Whether a field of ``model`` can be left empty at all (a plain checkbox
    always has a value: ticked or not), so a code can stand in for it."""
    field = model._meta.get_field(name)
    if isinstance(field, models.BooleanField) and not field.null:
        return False
    return field.null or field.blank


def missing_code_errors(form: CrfForm, codable: list[str]) -> dict[str, list[str]]:
    """Field → messages for the form's ``missing_codes``: each code is one of
    PROTOCOL §7's, on a field that may be coded (``codable``, from the
    registry), and never beside a value."""
    errors: dict[str, list[str]] = {}
    codes = form.missing_codes
    if not isinstance(codes, dict):
        return {"missing_codes": ["Missing-data codes must map field names to codes."]}
    for name, code in codes.items():
        if name not in codable:
            label = _label(form, name) if name in _field_names(form) else repr(name)
            errors.setdefault(name, []).append(
                f"{label} cannot be recorded as missing."
            )
            continue
        if code not in CODE_VALUES:
            errors.setdefault(name, []).append(
                f"{code!r} is not a missing-data code (use one of "
                f"{', '.join(MissingCode.values)})."
            )
        elif value_given(form, name):
            errors.setdefault(name, []).append(
                f"Give either a value or a missing-data code "
                f"({missing_code_label(code)}), not both."
            )
    return errors


def _field_names(form: CrfForm) -> set[str]:
    return {field.name for field in form._meta.get_fields()}


def _label(form: CrfForm, name: str) -> str:
    return str(form._meta.get_field(name).verbose_name).capitalize()


# The only fields where PROTOCOL §7 allows a partial date.
PARTIAL_DATE_FIELDS = frozenset({"primary_cancer_diagnosis"})
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
PARTIAL_DATE_FORMAT = "YYYY, YYYY-MM or YYYY-MM-DD"


def partial_date_error(text: str, *, today: datetime.date) -> str | None:
    """Why ``text`` is not a partial date (PROTOCOL §7): a year, a year and
    month or a full date, real, from 1900 and not after ``today`` (a year or
    month is in the future when it has not begun); ``None`` when it is one."""
    match = _PARTIAL_DATE.fullmatch(text)
    if match is None:
        return (
            f"Enter the date as {PARTIAL_DATE_FORMAT} (e.g. 2021, 2021-03 or "
            "2021-03-15)."
        )
    year, month, day = (int(part) if part else None for part in match.groups())
    if year < 1900:
        return "The year must be 1900 or later."
    if month is not None and not 1 <= month <= 12:
        return f"{text} has no month {month}: months are 01 to 12."
    if day is not None:
        try:
            datetime.date(year, month, day)
        except ValueError:
            return f"{text} is not a real date."
    first_day = datetime.date(year, month or 1, day or 1)
    if first_day > today:
        return "The date cannot be in the future."
    return None
