"""The export variables of a case report form (PROTOCOL §7, §14), read off the
registry (``crf.forms.registry.FORMS``) and the form's model fields, and the
cells of one stored form.

Columns, in order: the identifying ones (``study_id``, ``site``, ``visit`` for
a per-visit form, ``form_number`` for a repeatable one, ``form_status``), the
form's fields in the registry's order, then the scores the form computes on
save (Mirels, MSTS, TESS, EQ-5D profile, BPI interference), which the
registry does not list because nobody enters them.

A field's kind follows its model field: choices → ``choice`` (the choices'
labels as value labels), yes/no → ``boolean``, whole numbers → ``integer``,
decimal and float → ``decimal``, dates → ``date``, text → ``text`` (the
partial date of primary cancer diagnosis is text: it is kept as entered). Its
label is the field's verbose name; it may hold a missing-data code when the
registry says so (``FormSpec.codable_fields``). Every field name of the trial
fits the formats' 32-character limit (Stata, SAS) with room for SAS's ``_code``
companion column, so names are exported as they are; a form given a longer
name later fails the writers' ``check_limits_for`` with a message naming it.
"""

from django.db import models

from crf.forms.registry import PER_VISIT, REPEATABLE, FormSpec
from crf.models import FormStatus
from outcomes.exports.dataset import Coded, ExportDataError, Kind, Variable
from outcomes.records import BASELINE_CHARACTERISTICS, SCORES

# The scores a form computes on save, with the descriptions the analysis
# dataset gives them where it has them (``outcomes.records``).
_ANALYSIS_TEXT = {
    **{name: text for name, _prefix, text in SCORES},
    **dict(BASELINE_CHARACTERISTICS),
}
COMPUTED_SCORES = {
    "mirels_total": _ANALYSIS_TEXT["mirels_total"],
    "msts_total": "MSTS 1993 lower extremity, total (0-30)",
    "msts_percent": _ANALYSIS_TEXT["msts_percent"],
    "tess_score": _ANALYSIS_TEXT["tess_score"],
    "eq5d_profile": "EQ-5D-5L profile (the five levels as digits)",
    "bpi_interference": _ANALYSIS_TEXT["bpi_interference"],
}

STUDY_ID = Variable("study_id", "Study ID (PRF-<site>-<sequence>)", "text")
SITE = Variable("site", "Site code", "text")
VISIT = Variable("visit", "Follow-up visit (visit code)", "text")
FORM_NUMBER = Variable(
    "form_number",
    "Number of this form for the participant, in order of entry (1 = first)",
    "integer",
)
FORM_STATUS = Variable(
    "form_status",
    "Form status",
    "choice",
    {status.value: str(status.label) for status in FormStatus},
)


def identifying_variables(spec: FormSpec) -> list[Variable]:
    """The columns that say whose form a row is, and its status."""
    variables = [STUDY_ID, SITE]
    if spec.kind == PER_VISIT:
        variables.append(VISIT)
    if spec.kind == REPEATABLE:
        variables.append(FORM_NUMBER)
    return [*variables, FORM_STATUS]


def score_fields(spec: FormSpec) -> list[str]:
    """The computed scores ``spec``'s model stores, in ``COMPUTED_SCORES`` order."""
    names = {field.name for field in spec.model._meta.concrete_fields}
    return [name for name in COMPUTED_SCORES if name in names]


def data_variables(spec: FormSpec) -> list[Variable]:
    """One variable per registry field of ``spec``, then its computed scores."""
    codable = set(spec.codable_fields)
    variables = [
        field_variable(spec.model._meta.get_field(name), codable=name in codable)
        for name in spec.fields
    ]
    for name in score_fields(spec):
        field = spec.model._meta.get_field(name)
        variables.append(
            field_variable(field, codable=False, label=COMPUTED_SCORES[name])
        )
    return variables


def field_variable(
    field: models.Field, *, codable: bool, label: str | None = None
) -> Variable:
    """The export variable of one model field (kinds: the module docstring)."""
    label = label or _capitalized(str(field.verbose_name))
    if field.choices:
        choices = {value: str(text) for value, text in field.flatchoices}
        return Variable(field.name, label, Kind.CHOICE, choices, codable=codable)
    return Variable(field.name, label, _kind_of(field), codable=codable)


def _kind_of(field: models.Field) -> Kind:
    # DateTimeField is a DateField: a timestamp is no clinical date.
    if isinstance(field, models.BooleanField):
        return Kind.BOOLEAN
    if isinstance(field, models.IntegerField):
        return Kind.INTEGER
    if isinstance(field, models.DecimalField | models.FloatField):
        return Kind.DECIMAL
    if isinstance(field, models.DateField) and not isinstance(
        field, models.DateTimeField
    ):
        return Kind.DATE
    if isinstance(field, models.CharField | models.TextField):
        return Kind.TEXT
    raise ExportDataError(
        f"{field.model.__name__}.{field.name} ({type(field).__name__}) has no "
        "export kind."
    )


def _capitalized(text: str) -> str:
    # Django's default verbose name is the lower-case field name; keep the
    # rest of a written one ("EQ VAS", "Mirels: site") as it is.
    return text[:1].upper() + text[1:]


def data_cells(variables: list[Variable], row: dict) -> dict:
    """The cells of one stored form (a ``values()`` row holding the fields and
    ``missing_codes``): a coded field is its ``Coded``; empty text is blank."""
    codes = row["missing_codes"] or {}
    cells = {}
    for variable in variables:
        name = variable.name
        if name in codes:
            cells[name] = Coded(codes[name])
        elif row[name] == "":
            cells[name] = None
        else:
            cells[name] = row[name]
    return cells
