"""Web forms for the CRFs: one ModelForm class per registry entry.

Two submit buttons: *Save draft* (anything may be missing) and *Save as
complete* (every required field). A form that was ever complete asks for the
reason for change. Field ranges and choices come from the model fields, so the
API (which uses the same models) refuses the same values. The rules between
fields and forms (``crf.forms.rules``) are not checked here: the service
(``crf.forms.services.form_save``) owns them and the page shows its refusal
(``crf.forms.views``), so they are checked once, for every caller.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout, Submit
from django import forms
from django.core.exceptions import ValidationError

from crf.forms.field_wrappers import field_wrappers_apply, missing_codes_cleaned
from crf.forms.prom_answers import prom_answers_protect
from crf.forms.registry import FormSpec
from crf.forms.wording import instrument_presentation_apply
from crf.models import FormStatus
from perform.error_summary import form_error_summary
from perform.forms import DateInput

COMPLETE_BUTTON = "save_complete"
DRAFT_BUTTON = "save_draft"
# Saves as complete, then opens the next form that needs entry
# (``crf.forms.worklists.participant_next_form``).
NEXT_BUTTON = "save_next"


class CrfModelForm(forms.ModelForm):
    """Base of every CRF form; ``crf_form_class`` builds the concrete ones."""

    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    spec: FormSpec

    def __init__(self, *args, complete: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.complete = complete
        instance = self.instance
        self.needs_reason = instance.pk is not None and (
            instance.status != FormStatus.DRAFT
        )
        # The reason for change is ``reason``, unless the CRF has an item of
        # that name (reoperation, withdrawal): then ``change_reason``.
        self.reason_field = (
            "change_reason" if "reason" in self.spec.fields else "reason"
        )
        if self.needs_reason:
            self.fields[self.reason_field] = forms.CharField(
                label="Reason for change",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Required: this form has been completed before.",
            )
        self.fields["based_on_version"].initial = (
            instance.version if instance.pk else None
        )
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField):
                field.widget = DateInput()
            if name in instance.required_when_complete:
                field.label = f"{field.label} †"
        self.helper = FormHelper()
        self.helper.form_id = f"crf-{self.spec.key}"
        layout = [Fieldset(legend, *names) for legend, names in self.spec.fieldsets]
        # The reason for change comes first, under the error summary.
        reason = [Fieldset("", self.reason_field)] if self.needs_reason else []
        self.helper.layout = Layout(
            *reason,
            *layout,
            Fieldset("", "based_on_version"),
            Submit(
                DRAFT_BUTTON,
                "Save draft",
                css_class="btn-secondary",
                css_id="save-draft",
            ),
            Submit(COMPLETE_BUTTON, "Save as complete", css_id="save-complete"),
            Submit(
                NEXT_BUTTON, "Save as complete and open next form", css_id="save-next"
            ),
        )
        instrument_presentation_apply(self)
        # Branching data and missing-data codes (crf.forms.field_wrappers).
        field_wrappers_apply(self)
        # The participant's own answers, read-only (crf.forms.prom_answers).
        prom_answers_protect(self)

    @property
    def change_reason(self) -> str:
        """The reason for change entered (empty when none was asked for)."""
        if self.reason_field not in self.fields:
            return ""
        return self.cleaned_data.get(self.reason_field) or ""

    def clean(self):
        cleaned = super().clean()
        codes = missing_codes_cleaned(self, cleaned)
        self.instance.missing_codes = codes
        if self.needs_reason and not (cleaned.get(self.reason_field) or "").strip():
            self.add_error(
                self.reason_field, "Give the reason for changing a completed form."
            )
        if self.complete and not self.errors:
            for name in self.instance.required_when_complete:
                if (
                    name in self.fields
                    and name not in codes
                    and cleaned.get(name) in (None, "")
                ):
                    self.add_error(name, "Required for a complete form.")
        return cleaned

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor, label, message) of every field error, in form order, for
        the summary at the top of the page (the form's own errors, tied to no
        field, are shown once, at the top of the form)."""
        return form_error_summary(self)

    def add_rule_errors(self, refusal: ValidationError) -> None:
        """Show the service's refusal (``crf.forms.rules``: field → messages)
        on the fields it names; a rule about a field not on this page goes to
        the form's errors at the top."""
        if not hasattr(refusal, "error_dict"):
            self.add_error(None, refusal)
            return
        for name, messages in refusal.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


def crf_form_class(spec: FormSpec) -> type[CrfModelForm]:
    """The ModelForm of one CRF (fields in the registry's order)."""
    meta = type("Meta", (), {"model": spec.model, "fields": spec.fields})
    return type(
        f"{spec.model.__name__}Form",
        (CrfModelForm,),
        {"Meta": meta, "spec": spec, "__module__": __name__},
    )


def _action_helper(*fields, button: str, css_class: str = "btn-primary"):
    helper = FormHelper()
    helper.layout = Layout(
        *fields, Submit("submit", button, css_class=css_class, css_id="confirm")
    )
    return helper


class SignForm(forms.Form):
    """The investigator's e-signature: the password is entered again."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing confirms you have reviewed this form.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _action_helper(Field("password"), button="Sign")


class LockForm(forms.Form):
    """Nothing to fill in: the button is the confirmation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _action_helper(button="Lock", css_class="btn-warning")


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label="Reason for unlocking", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _action_helper(Field("reason"), button="Unlock")


__all__ = [
    "COMPLETE_BUTTON",
    "DRAFT_BUTTON",
    "NEXT_BUTTON",
    "CrfModelForm",
    "LockForm",
    "SignForm",
    "UnlockForm",
    "crf_form_class",
]
