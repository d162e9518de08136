"""Input shape of the report pages: requesting a report, exporting the
dataset, and the statistician's release decisions."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.urls import reverse, reverse_lazy
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


class _ReportDecisionForm(forms.Form):
    """One text box and a button, posted to one of the report's release URLs
    (``outcomes.release``); the service checks the text again."""

    url_name = ""
    button = ""
    button_class = "btn-primary"
    confirm = ""

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("outcomes:" + self.url_name, args=[report.pk])
        self.helper.form_id = f"{self.url_name.replace('_', '-')}-form"
        if self.confirm:
            self.helper.attrs = {"data-confirm": self.confirm}
        button = Submit(
            self.url_name.removeprefix("report_"),
            self.button,
            css_id=f"{self.url_name.replace('_', '-')}-submit",
        )
        button.field_classes = f"btn {self.button_class}"  # not also btn-primary
        self.helper.add_input(button)

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field id, label, message) of every field error, for the summary at
        the top of the page."""
        return [
            (field.auto_id, field.label, message)
            for field in self
            for message in field.errors
        ]


def _text(label: str, required: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text=help_text,
        error_messages={"required": required},
    )


class ReportReleaseForm(_ReportDecisionForm):
    url_name = "report_release"
    button = "Release to the DSMB"
    confirm = "Release this report? Every DSMB member will be e-mailed a link to it."
    note = _text(
        "Release note",
        "Write a release note for the DSMB.",
        "Sent to the DSMB members with the link, and shown on the report.",
    )


class ReportWithdrawForm(_ReportDecisionForm):
    url_name = "report_withdraw"
    button = "Withdraw the report"
    button_class = "btn-outline-danger"
    confirm = "Withdraw this report? The DSMB will no longer be able to download it."
    reason = _text(
        "Reason for withdrawal",
        "Give the reason for withdrawing the report.",
        "Shown with the report and e-mailed to the DSMB members.",
    )


class ReportRecommendationForm(_ReportDecisionForm):
    url_name = "report_recommendation"
    button = "Record the recommendation"
    button_class = "btn-outline-primary"
    recommendation = _text(
        "DSMB recommendation",
        "Write the DSMB's recommendation.",
        "As minuted after the meeting; later reports list it with this look.",
    )
