"""The monitoring page's one input: the data cut-off date (a GET form)."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone


class MonitoringAsOfForm(forms.Form):
    as_of = forms.DateField(
        label="Data as of",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Events, forms and queries dated after this day are left out.",
        error_messages={
            "required": "Enter the date the indicators are computed on.",
            "invalid": "Enter a date as YYYY-MM-DD.",
        },
    )

    def __init__(self, data=None, **kwargs):
        # Without a date the page shows today's indicators: the form is bound
        # to today so that the page always has a date to compute on.
        if data is None or "as_of" not in data:
            data = {"as_of": timezone.localdate().isoformat()}
        super().__init__(data, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "monitoring-as-of"
        self.helper.add_input(
            Submit("submit", "Show", css_id="monitoring-as-of-submit")
        )

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        today = timezone.localdate()
        if as_of > today:
            raise forms.ValidationError(
                f"The date cannot be in the future (today is {today:%Y-%m-%d})."
            )
        return as_of

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field id, label, message) of every field error, for the summary at
        the top of the page."""
        return [
            (field.auto_id, field.label, message)
            for field in self
            for message in field.errors
        ]
