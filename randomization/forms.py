"""Input shape and field validation for the randomization pages (crispy,
Bootstrap 5). Whether a scheme or a list is valid is the services' decision:
their ``ListInvalid`` errors are added to these forms by the views."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.conf import settings

from randomization import strata

MAX_SEED = 2**63 - 1


def _int_list(text: str, *, separator: str, what: str) -> list[int]:
    parts = [p.strip() for p in text.split(separator) if p.strip()]
    if not parts:
        raise forms.ValidationError(f"Give at least one {what}.")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise forms.ValidationError(
            f"Use whole numbers separated by “{separator}”."
        ) from None


class ButtonSubmit(Submit):
    """A submit button styled by ``css_class`` alone (``Submit`` always adds
    ``btn-primary``, which an outline style cannot override)."""

    field_classes = "btn"


def _button_helper(*, form_id: str, label: str, css_class: str, action: str = ""):
    helper = FormHelper()
    helper.form_id = form_id
    helper.form_action = action
    helper.add_input(
        ButtonSubmit("submit", label, css_class=css_class, css_id=f"{form_id}-submit")
    )
    return helper


class RandomizeForm(forms.Form):
    """The confirmation step: no input, one button. Errors of the randomize
    service are added as non-field errors and shown by the page itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _button_helper(
            form_id="randomize-form",
            label="Confirm and randomize",
            css_class="btn-success",
        )
        self.helper.form_show_errors = False


class ActionForm(forms.Form):
    """A POST button (verify a list, ...) rendered by crispy."""

    def __init__(self, *args, form_id: str, label: str, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _button_helper(
            form_id=form_id,
            label=label,
            css_class="btn-outline-primary",
            action=action,
        )


class LogFilterForm(forms.Form):
    """GET filter of the randomization log."""

    site = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All sites")] + [
            (s.code, f"{s.code} – {s.name}") for s in sites
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "log-filter"
        self.helper.add_input(ButtonSubmit("", "Show", css_class="btn-secondary"))


class ListGenerateForm(forms.Form):
    """Parameters of a new list, defaulted from ``settings.RANDOMIZATION``."""

    name = forms.CharField(max_length=200)
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_SEED,
        help_text="Leave empty for a fresh random seed (it is recorded).",
    )
    arms = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One arm a line: CODE: label.",
    )
    ratio = forms.CharField(max_length=50, help_text="Allocation ratio, e.g. 1:1.")
    block_sizes = forms.CharField(
        max_length=100, help_text="Permitted sizes, comma-separated, e.g. 2, 4, 6."
    )
    factors = forms.MultipleChoiceField(
        label="Stratification factors",
        choices=[(name, factor.label) for name, factor in strata.FACTORS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    slots_per_stratum = forms.IntegerField(
        min_value=1,
        help_text="At least the full target enrolment; whole blocks are kept.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = settings.RANDOMIZATION
        self.fields["arms"].initial = "\n".join(
            f"{code}: {label}" for code, label in config["ARMS"]
        )
        self.fields["ratio"].initial = ":".join(map(str, config["RATIO"]))
        self.fields["block_sizes"].initial = ", ".join(map(str, config["BLOCK_SIZES"]))
        self.fields["factors"].initial = list(config["STRATIFICATION_FACTORS"])
        self.fields["slots_per_stratum"].initial = config["SLOTS_PER_STRATUM"]
        self.helper = FormHelper()
        self.helper.form_id = "list-generate-form"
        self.helper.layout = Layout(
            Fieldset("", "name", "seed"),
            Fieldset(
                "Scheme",
                "arms",
                "ratio",
                "block_sizes",
                "factors",
                "slots_per_stratum",
            ),
            Submit("submit", "Generate draft list", css_id="generate-submit"),
        )

    def clean_arms(self) -> list[list[str]]:
        arms = []
        for number, line in enumerate(self.cleaned_data["arms"].splitlines(), 1):
            if not line.strip():
                continue
            code, colon, label = line.partition(":")
            if not colon or not code.strip() or not label.strip():
                raise forms.ValidationError(
                    f"Line {number}: write the arm as CODE: label."
                )
            arms.append([code.strip(), label.strip()])
        return arms

    def clean_ratio(self) -> list[int]:
        return _int_list(self.cleaned_data["ratio"], separator=":", what="ratio part")

    def clean_block_sizes(self) -> list[int]:
        return _int_list(
            self.cleaned_data["block_sizes"], separator=",", what="block size"
        )

    def clean_factors(self) -> list[str]:
        # Stratum keys join levels in factor order: keep the defined order.
        chosen = set(self.cleaned_data["factors"])
        return [name for name in strata.FACTORS if name in chosen]


class ListImportForm(forms.Form):
    """An externally generated allocation table (CSV: stratum, sequence, arm,
    block), imported with the default scheme."""

    name = forms.CharField(max_length=200)
    file = forms.FileField(
        label="CSV file",
        help_text="Columns stratum,sequence,arm,block; one row per slot.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "list-import-form"
        self.helper.add_input(
            Submit("submit", "Import draft list", css_id="import-submit")
        )

    def clean_file(self) -> str:
        """The file's text (UTF-8)."""
        upload = self.cleaned_data["file"]
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None


class ListActivateForm(forms.Form):
    """The confirmation step of activating a draft list."""

    confirm = forms.BooleanField(
        label="I have checked this list; activate it. It cannot be edited afterwards.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "list-activate-form"
        self.helper.add_input(
            ButtonSubmit(
                "submit",
                "Activate list",
                css_class="btn-danger",
                css_id="activate-submit",
            )
        )


class ListExtendForm(forms.Form):
    """Add slots to one stratum (e.g. a new site) of the active list, with a
    reason. One choice field per stratification factor of the list."""

    min_slots = forms.IntegerField(
        label="Minimum slots to add",
        min_value=1,
        help_text="Whole blocks are added, so a few more slots may be added.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, factors, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.factors = list(factors)
        for name in self.factors:
            factor = strata.FACTORS[name]
            if name == "site":
                choices = [(s.code, f"{s.code} – {s.name}") for s in sites]
            else:
                choices = [(level, level) for level in factor.levels(sites)]
            self.fields[f"level_{name}"] = forms.ChoiceField(
                label=factor.label, choices=choices
            )
        self.order_fields([f"level_{name}" for name in self.factors])
        self.helper = FormHelper()
        self.helper.form_id = "list-extend-form"
        self.helper.add_input(Submit("submit", "Add slots", css_id="extend-submit"))

    def levels(self) -> dict[str, str]:
        return {name: self.cleaned_data[f"level_{name}"] for name in self.factors}
