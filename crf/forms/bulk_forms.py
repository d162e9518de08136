"""Input of the bulk pages (``crf.forms.bulk``): the forms ticked for
signing or locking, the investigator's password, and the site and visit whose
follow-up forms are locked together."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout, Submit
from django import forms
from django.core.exceptions import ValidationError

from crf.schedule.visits import visit_definitions


class FormTokensField(forms.MultipleChoiceField):
    """The ticked forms, each as ``key:id:version`` (``FormEntry.token``).

    Any token is accepted here: a form changed since the page was shown has a
    token the page no longer lists, and the service, not a "not one of the
    available choices" error, says which form changed."""

    widget = forms.CheckboxSelectMultiple

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class BulkSignForm(forms.Form):
    """The investigator's e-signature over the ticked forms: one password."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing confirms you have reviewed every ticked form.",
    )
    # Named as the page posts it; after ``password``, which uses the module.
    forms = FormTokensField(
        error_messages={"required": "Tick at least one form to sign."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False  # the page's form holds the checkboxes too
        self.helper.layout = Layout(
            Field("password"),
            Submit("submit", "Sign the ticked forms", css_id="confirm"),
        )


class BulkLockForm(forms.Form):
    """The ticked forms to lock; the button is the confirmation."""

    forms = FormTokensField(
        error_messages={"required": "Tick at least one form to lock."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Submit(
                "submit",
                "Lock the ticked forms",
                css_class="btn-warning",
                css_id="confirm",
            )
        )


def _visit_choices():
    return [(visit.code, visit.label) for visit in visit_definitions()]


class VisitLockChoiceForm(forms.Form):
    """Which site's follow-up forms of which visit (a GET form)."""

    site = forms.ModelChoiceField(
        queryset=None, to_field_name="code", empty_label="Choose a site"
    )
    visit = forms.ChoiceField(choices=())

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["visit"].choices = [("", "Choose a visit"), *_visit_choices()]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "visit-lock-choice"
        self.helper.layout = Layout(
            Field("site"),
            Field("visit"),
            Submit("show", "Show the forms to lock", css_class="btn-secondary"),
        )


class VisitLockConfirmForm(forms.Form):
    """The confirmation: the site, the visit and the forms counted on the page
    (``id:version`` each, comma-separated), locked only if unchanged."""

    site = forms.CharField(widget=forms.HiddenInput)
    visit = forms.CharField(widget=forms.HiddenInput)
    shown = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "visit-lock-confirm"
        self.helper.layout = Layout(
            "site",
            "visit",
            "shown",
            Submit(
                "submit",
                "Lock this form" if count == 1 else f"Lock these {count} forms",
                css_class="btn-warning",
                css_id="confirm",
            ),
        )

    def clean_shown(self) -> dict[int, int]:
        """Form id → version shown."""
        shown = {}
        for item in self.cleaned_data["shown"].split(","):
            pk, _, version = item.partition(":")
            if not (pk.isdigit() and version.isdigit()):
                raise ValidationError("The list of forms is not readable.")
            shown[int(pk)] = int(version)
        return shown
