"""Input shape of the report pages."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.urls import reverse_lazy
from django.utils import timezone

from outcomes.models import Report


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=Report.Kind.choices, label="Report")
    cutoff = forms.DateField(
        label="Data cut-off",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Events dated after this day are left out.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Today by default: everything entered so far (demo data included).
        self.fields["cutoff"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_id = "report-request"
        self.helper.add_input(Submit("submit", "Request report"))


class DatasetExportForm(forms.Form):
    cutoff = forms.DateField(
        label="Data cut-off",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_action = reverse_lazy("outcomes:dataset_export")
        self.helper.form_id = "dataset-export"
        self.helper.add_input(Submit("submit", "Download analysis dataset (CSV)"))
