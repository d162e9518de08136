"""Input shape of the export wizard: which forms, fields, sites, visits,
cut-off and formats. The choices offered are those the user may export
(sites: their scope); ``services.data_export_request`` checks them again."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django.forms import (
    CheckboxSelectMultiple,
    DateField,
    DateInput,
    Form,
    MultipleChoiceField,
    ValidationError,
)
from django.utils import timezone

from crf.forms.registry import FORMS
from crf.schedule.visits import visit_definitions
from outcomes.exports.form_variables import data_variables
from perform.selectors import sites_for

FORMAT_LABELS = {
    "csv": "CSV with a codebook",
    "stata": "Stata (.dta)",
    "spss": "SPSS (.sav)",
    "sas": "SAS transport (.xpt) with formats.sas",
    "r": "R (CSV and a script applying labels and codes)",
}


def _field_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each form's fields, grouped under the form's label: the variable's
    name (what the exported file calls it) and its label."""
    return [
        (
            spec.label,
            [
                (variable.name, f"{variable.name}: {variable.label}")
                for variable in data_variables(spec)
            ],
        )
        for spec in FORMS.values()
    ]


class DataExportForm(Form):
    forms = MultipleChoiceField(
        choices=[(key, spec.label) for key, spec in FORMS.items()],
        widget=CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one form."},
    )
    fields = MultipleChoiceField(
        required=False,
        help_text="Leave empty for every field of the chosen forms; a form "
        "holding none of the chosen fields is left out.",
    )
    sites = MultipleChoiceField(
        required=False,
        widget=CheckboxSelectMultiple,
        help_text="None ticked: every site you may see.",
    )
    visits = MultipleChoiceField(
        required=False,
        widget=CheckboxSelectMultiple,
        help_text="Follow-up visits (visit forms only); none ticked: every visit.",
    )
    cutoff = DateField(
        label="Data cut-off",
        required=False,
        widget=DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Optional: participants randomized and forms dated by then.",
    )
    formats = MultipleChoiceField(
        choices=list(FORMAT_LABELS.items()),
        widget=CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one format."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fields"].choices = _field_choices()
        self.fields["fields"].widget.attrs["size"] = 12
        self.fields["sites"].choices = [
            (site.code, f"{site.code}: {site.name}")
            for site in sites_for(user).order_by("code")
        ]
        self.fields["visits"].choices = [
            (visit.code, visit.label) for visit in visit_definitions()
        ]
        self.helper = FormHelper()
        self.helper.form_id = "data-export-request"
        self.helper.add_input(Submit("submit", "Request export"))

    def clean_cutoff(self):
        cutoff = self.cleaned_data["cutoff"]
        if cutoff is not None and cutoff > timezone.localdate():
            raise ValidationError("The data cut-off cannot be in the future.")
        return cutoff

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field id, label, message) of every field error, for the summary."""
        return [
            (field.auto_id, field.label, message)
            for field in self
            for message in field.errors
        ]
