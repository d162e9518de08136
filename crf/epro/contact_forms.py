"""The contact preferences page's forms: the preferences themselves, and the
participant's opt-out (or its undoing). Input shape and field rules only; the
rules of a whole set of preferences are ``crf.epro.contacts``'s, checked here
for the form's errors and again by the service."""

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.conf import settings

from crf.epro import contacts
from crf.models import Channel, ContactPreference
from perform.error_summary import form_error_summary
from perform.exceptions import TrialError

YES_NO = [("yes", "Yes"), ("no", "No")]
# The name of the button that posted the page says which form it was.
SAVE_ACTION = "save"
OPT_OUT_ACTION = "opt_out"
OPT_IN_ACTION = "opt_in"
PROXY_RELATIONSHIP_NEEDED = "Give the proxy's relationship to the participant."
PROXY_NAME_NEEDED = "Give the proxy's name."


class ContactPreferenceForm(forms.Form):
    electronic_contact = forms.ChoiceField(
        label="Agrees to be contacted electronically about questionnaires",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the participant agrees."},
    )
    channel = forms.ChoiceField(
        label="Channel",
        choices=Channel.choices,
        widget=forms.RadioSelect,
        help_text="Clinic only: no messages; questionnaires on the clinic tablet "
        "or on paper.",
        error_messages={"required": "Choose a channel."},
    )
    email = forms.EmailField(label="E-mail address", required=False, max_length=254)
    phone = forms.CharField(
        label="Mobile number",
        required=False,
        max_length=40,
        help_text="With the country code, e.g. +1 416 555 0123; spaces and dashes "
        "are fine.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    language = forms.ChoiceField(label="Preferred language", choices=())
    proxy_name = forms.CharField(
        label="Proxy who answers",
        required=False,
        max_length=200,
        help_text="Only if a caregiver or relative answers for the participant.",
    )
    proxy_relationship = forms.CharField(
        label="Proxy's relationship", required=False, max_length=100
    )

    def __init__(self, *args, instance: ContactPreference | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = list(settings.LANGUAGES)
        self.require_reason = instance is not None
        if self.require_reason:
            self.fields["reason"] = forms.CharField(
                label="Reason for change",
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Required: these preferences were recorded before.",
                error_messages={"required": contacts.REASON_NEEDED},
            )
            if not self.is_bound:
                self.initial.update(
                    electronic_contact="yes" if instance.electronic_contact else "no",
                    channel=instance.channel,
                    email=instance.email,
                    phone=instance.phone,
                    language=instance.language,
                    proxy_name=instance.proxy_name,
                    proxy_relationship=instance.proxy_relationship,
                )
        self.helper = FormHelper()
        self.helper.form_id = "contact-form"
        self.helper.layout = Layout(
            Fieldset(
                "Consent to contact",
                InlineRadios("electronic_contact"),
                "channel",
                "email",
                "phone",
                "language",
            ),
            Fieldset("Proxy", "proxy_name", "proxy_relationship"),
            Fieldset("", *(["reason"] if self.require_reason else [])),
            Submit(SAVE_ACTION, "Save contact preferences", css_id="save-contact"),
        )

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        return form_error_summary(self)

    def clean_phone(self):
        try:
            return contacts.phone_normalize(self.cleaned_data["phone"])
        except TrialError as error:
            raise forms.ValidationError(error.message) from error

    def clean(self):
        cleaned = super().clean()
        if not {"electronic_contact", "channel"} <= set(cleaned):
            return cleaned
        if self.has_error("email") or self.has_error("phone"):
            return cleaned
        errors = contacts.contact_preference_check(
            electronic_contact=cleaned["electronic_contact"] == "yes",
            channel=cleaned["channel"],
            email=cleaned.get("email", ""),
            phone=cleaned.get("phone", ""),
        )
        for field, message in errors.items():
            self.add_error(field, message)
        name, relationship = (
            cleaned.get("proxy_name"),
            cleaned.get("proxy_relationship"),
        )
        if name and not relationship:
            self.add_error(
                "proxy_relationship",
                "Give the proxy's relationship to the participant.",
            )
        if relationship and not name:
            self.add_error("proxy_name", PROXY_NAME_NEEDED)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "electronic_contact": data["electronic_contact"] == "yes",
            "channel": data["channel"],
            "email": data.get("email", ""),
            "phone": data.get("phone", ""),
            "language": data["language"],
            "proxy_name": data.get("proxy_name", ""),
            "proxy_relationship": data.get("proxy_relationship", ""),
            "reason": data.get("reason", ""),
        }


class ContactOptOutForm(forms.Form):
    """Record the participant's opt-out, or undo it, with the reason (how the
    participant asked)."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How and when the participant asked, e.g. phone call on 2026-03-02.",
        error_messages={"required": contacts.REASON_NEEDED},
    )

    def __init__(self, *args, opted_out: bool, **kwargs):
        kwargs.setdefault("prefix", "optout")
        super().__init__(*args, **kwargs)
        self.action = OPT_IN_ACTION if opted_out else OPT_OUT_ACTION
        self.helper = FormHelper()
        self.helper.form_id = "opt-out-form"
        label = (
            "Undo the opt-out: messages may be sent again"
            if opted_out
            else "Record opt-out: send no more messages"
        )
        button = Submit(self.action, label, css_id="opt-in" if opted_out else "opt-out")
        # Instead of Submit's "btn btn-primary", which a css_class only adds to
        # (blue with red text was unreadable).
        button.field_classes = (
            "btn btn-secondary" if opted_out else "btn btn-outline-danger"
        )
        self.helper.layout = Layout("reason", button)

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        return form_error_summary(self)
