"""Input shape and field validation for the trial-core pages (crispy, Bootstrap 5)."""

import datetime

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.validators import MaxLengthValidator
from django.utils import timezone

from perform import screening
from perform.clinical_dates import clinical_date_error, site_today
from perform.error_summary import form_error_summary
from perform.models import EligibilityCriterion, FractureStatus, Participant, Sex

YES_NO_UNKNOWN = [("yes", "Yes"), ("no", "No"), ("", "Not yet known")]
_ANSWER_FROM_CHOICE = {"yes": True, "no": False, "": None}
_CHOICE_FROM_ANSWER = {True: "yes", False: "no", None: ""}


class DateInput(forms.DateInput):
    """An HTML date picker; it only accepts ISO dates, whatever the locale."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's name
        super().__init__(attrs, format=format)


def _clinical_date(value: datetime.date, *, site) -> datetime.date:
    """``value`` if it may be a clinical date at ``site`` (``clinical_dates``)."""
    if problem := clinical_date_error(value, today=site_today(site.time_zone)):
        raise forms.ValidationError(problem)
    return value


class ScreeningForm(forms.Form):
    """PROTOCOL §7.1: screening and eligibility. One radio field per criterion.

    The fields only read the posted strings (in ``perform.screening``'s words
    when they cannot); the rules are ``perform.screening``'s, which the API
    applies too (``clean``).
    """

    # The site's code: perform.screening decides whether the user may screen
    # there, in the same words for a site not offered and an unknown one.
    site = forms.CharField(
        max_length=screening.SITE_CODE_LENGTH,
        widget=forms.Select,
        error_messages={"max_length": screening.too_long(screening.SITE_CODE_LENGTH)},
    )
    screening_date = forms.DateField(
        widget=DateInput,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": screening.DATE_INVALID},
    )
    age_at_screening = forms.IntegerField(
        label="Age (years)",
        widget=forms.NumberInput(
            attrs={"min": screening.AGE_MIN, "max": screening.AGE_MAX}
        ),
        error_messages={"invalid": screening.NUMBER_INVALID},
    )
    year_of_birth = forms.IntegerField(
        required=False,
        widget=forms.NumberInput(attrs={"min": screening.YEAR_OF_BIRTH_MIN}),
        help_text="Optional; the age is what counts.",
        error_messages={"invalid": screening.NUMBER_INVALID},
    )
    # A blank first choice: a sex must be picked, never defaulted.
    sex = forms.ChoiceField(
        choices=[("", "—"), *Sex.choices],
        error_messages={"invalid_choice": screening.choice_invalid(Sex.values)},
    )
    fracture_status = forms.ChoiceField(
        choices=[("", "Not yet known"), *FractureStatus.choices],
        required=False,
        help_text="Stratification factor for randomization.",
        error_messages={
            "invalid_choice": screening.choice_invalid(FractureStatus.values)
        },
    )
    screening_notes = forms.CharField(
        label="Other reasons / notes",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )

    def __init__(
        self,
        *args,
        user,
        sites,
        criteria,
        participant=None,
        require_reason=False,
        **kwargs,
    ):
        """``sites`` are offered (the user's screening sites); ``user`` is
        whom ``perform.screening`` checks the chosen site for."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.criteria = list(criteria)
        self.participant = participant
        # Today on the site's calendar (the participant's, or the one site
        # offered; the server's date when the user chooses among several).
        calendar = participant.site if participant is not None else None
        if participant is not None:
            # The site of an existing participant never changes.
            del self.fields["site"]
        else:
            offered = list(sites)
            self.fields["site"].widget.choices = [(s.code, str(s)) for s in offered]
            if len(offered) == 1:
                self.fields["site"].initial = offered[0].code
                calendar = offered[0]
        self.fields["screening_date"].initial = (
            site_today(calendar.time_zone) if calendar else timezone.localdate()
        )
        for criterion in self.criteria:
            self.fields[self.field_name(criterion)] = forms.ChoiceField(
                label=criterion.text,
                choices=YES_NO_UNKNOWN,
                widget=forms.RadioSelect,
                required=False,
                error_messages={"invalid_choice": screening.ANSWER_INVALID},
            )
        if require_reason:
            self.fields["reason"] = forms.CharField(
                label="Reason for change",
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Required: this record has been saved before.",
            )
        self.helper = FormHelper()
        self.helper.form_id = "screening-form"
        inclusion = [
            InlineRadios(self.field_name(c))
            for c in self.criteria
            if c.kind == c.Kind.INCLUSION
        ]
        exclusion = [
            InlineRadios(self.field_name(c))
            for c in self.criteria
            if c.kind == c.Kind.EXCLUSION
        ]
        patient = [
            f
            for f in (
                "site",
                "screening_date",
                "age_at_screening",
                "year_of_birth",
                "sex",
                "fracture_status",
            )
            if f in self.fields
        ]
        tail = ["screening_notes"] + (["reason"] if require_reason else [])
        self.helper.layout = Layout(
            Fieldset("Patient", *patient),
            Fieldset("Inclusion criteria (answer yes if met)", *inclusion),
            Fieldset("Exclusion criteria (answer yes if present)", *exclusion),
            Fieldset("", *tail),
            Submit("submit", "Save screening", css_id="save-screening"),
        )
        if participant is not None and not self.is_bound:
            answers = {
                a.criterion.code: a.answer
                for a in participant.eligibility_answers.all()
            }
            for criterion in self.criteria:
                self.initial[self.field_name(criterion)] = _CHOICE_FROM_ANSWER[
                    answers.get(criterion.code)
                ]
            for name in (
                "screening_date",
                "age_at_screening",
                "year_of_birth",
                "sex",
                "fracture_status",
                "screening_notes",
            ):
                self.initial[name] = getattr(participant, name)

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor, label, message) of every field error, for the summary."""
        return form_error_summary(self)

    @staticmethod
    def field_name(criterion: EligibilityCriterion) -> str:
        return f"criterion_{criterion.code}"

    def clean(self):
        """Every ``perform.screening`` rule, each error on its field."""
        cleaned = super().clean()
        values = {
            name: cleaned[name]
            for name in ("site", "screening_date", "age_at_screening", "year_of_birth")
            if name in cleaned
        }
        # The answers are read as a whole, as the API reads its "answers"
        # object: with one unreadable, the rules on answers wait.
        if not any(self.has_error(self.field_name(c)) for c in self.criteria):
            values["answers"] = self.answers()
        check = screening.screening_input_check(
            user=self.user,
            criteria=self.criteria,
            values=values,
            participant_site=self.participant.site if self.participant else None,
        )
        for name, messages in check.errors.items():
            self.add_error(name, messages)
        for code, messages in check.answer_errors.items():
            self.add_error(self.field_name_for_code(code), messages)
        if check.site is not None:
            cleaned["site"] = check.site
        return cleaned

    def field_name_for_code(self, code: str) -> str | None:
        for criterion in self.criteria:
            if criterion.code == code:
                return self.field_name(criterion)
        return None

    def answers(self) -> dict[str, bool | None]:
        return {
            c.code: _ANSWER_FROM_CHOICE[self.cleaned_data.get(self.field_name(c), "")]
            for c in self.criteria
        }

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "screening_date": data["screening_date"],
            "age_at_screening": data["age_at_screening"],
            "year_of_birth": data.get("year_of_birth"),
            "sex": data["sex"],
            "fracture_status": data.get("fracture_status") or "",
            "screening_notes": data.get("screening_notes") or "",
            "answers": self.answers(),
        }


class ConsentForm(forms.Form):
    """PROTOCOL §7.2."""

    decision_date = forms.DateField(label="Date of consent", widget=DateInput)
    form_version = forms.CharField(label="Consent form version", max_length=40)
    obtained_by = forms.CharField(label="Consent obtained by", max_length=200)

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["decision_date"].initial = site_today(participant.site.time_zone)
        self.helper = FormHelper()
        self.helper.form_id = "consent-form"
        self.helper.add_input(Submit("submit", "Record consent", css_id="save-consent"))

    def clean_decision_date(self):
        value = _clinical_date(
            self.cleaned_data["decision_date"], site=self.participant.site
        )
        if value < self.participant.screening_date:
            raise forms.ValidationError(
                f"The date cannot be before screening "
                f"({self.participant.screening_date:%d %b %Y})."
            )
        return value


class DeclineForm(ConsentForm):
    """The patient was eligible but declined to take part."""

    form_version = None
    reason = forms.CharField(
        label="Reason given (if any)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision_date"].label = "Date declined"
        self.fields["obtained_by"].label = "Discussed with patient by"
        self.helper = FormHelper()
        self.helper.form_id = "decline-form"
        self.helper.add_input(
            Submit(
                "submit",
                "Record decline",
                css_class="btn-warning",
                css_id="save-decline",
            )
        )


class ParticipantFilterForm(forms.Form):
    """GET filters on the site dashboard."""

    q = forms.CharField(label="Study ID", required=False)
    site = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, statuses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All sites")] + [
            (s.code, s.code) for s in sites
        ]
        self.fields["status"].choices = [("", "Any status"), *statuses]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "participant-filter"
        self.helper.add_input(Submit("", "Filter", css_class="btn-secondary"))


class AuditFilterForm(forms.Form):
    """GET filters of an audit page (``perform.audit_trail.AuditFilters``):
    record type (left out on one form's page), user and site-local dates."""

    kind = forms.ChoiceField(label="Form or record", required=False)
    user = forms.ChoiceField(label="User", required=False)
    date_from = forms.DateField(label="From (site date)", required=False)
    date_to = forms.DateField(label="To (site date)", required=False)

    def __init__(self, *args, kinds, users, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is None:
            del self.fields["kind"]
        else:
            self.fields["kind"].choices = [("", "All"), *kinds]
        self.fields["user"].choices = [
            ("", "Anyone"),
            *[(str(pk), username) for pk, username in users],
            ("system", "system (no user)"),
        ]
        for name in ("date_from", "date_to"):
            self.fields[name].widget = DateInput()
            self.fields[name].error_messages["invalid"] = "Enter a date as YYYY-MM-DD."
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "audit-filter"
        self.helper.add_input(Submit("", "Filter", css_class="btn-secondary"))

    def _clean_date(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and not 1900 <= value.year <= 2999:
            raise forms.ValidationError("Enter a date between 1900 and 2999.")
        return value

    def clean_date_from(self):
        return self._clean_date("date_from")

    def clean_date_to(self):
        return self._clean_date("date_to")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(
                f"The 'from' date ({start}) is after the 'to' date ({end})."
            )
        return data


class LoginForm(AuthenticationForm):
    """Django's login form, refusing a username longer than the column holds.

    ``AuthenticationForm`` shows the length in the HTML but does not validate
    it, so any length reached ``authenticate`` and django-axes' failure record.
    A longer name cannot be an account: it is a form error, nothing is
    recorded and no lockout is counted.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class TaskPasswordResetForm(PasswordResetForm):
    """Password reset whose e-mail is an outbox row, sent by a worker after
    commit (``role_admin.password_link_queue``: on the e-mail log, its link
    shown to no one but the recipient)."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        # The outbox sends from DEFAULT_FROM_EMAIL, which is what the reset
        # view's from_email (None) means anyway.
        from perform.role_admin import PASSWORD_RESET_KIND, password_link_queue

        password_link_queue(
            kind=PASSWORD_RESET_KIND,
            user=context["user"],
            to_email=to_email,
            context=context,
            subject_template=subject_template_name,
            text_template=email_template_name,
            html_template=html_email_template_name,
        )
