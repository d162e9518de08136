"""Instruments as on paper (crf.forms.wording), the licensed wording file
(crf.forms.licensed_wording) and its system check, ranges and units beside
number fields, error-summary anchors and the reason for change at the top."""

import json
import re
from pathlib import Path

import pytest
from crispy_forms.utils import render_crispy_form
from django.core.checks import run_checks

from crf.forms.forms import crf_form_class
from crf.forms.licensed_wording import WordingFileError, wording_file_read
from crf.forms.registry import FORMS
from crf.forms.wording import InstrumentMatrix, ScoreOutput
from crf.models import AdverseEvent, Baseline, FormStatus

DOC = Path(__file__).resolve().parents[3] / "docs" / "instrument-wording.md"


def form_for(key, data=None, *, instance=None, complete=False):
    spec = FORMS[key]
    return crf_form_class(spec)(
        data, instance=instance or spec.model(), complete=complete
    )


def choices(form, name):
    return [(str(value), str(label)) for value, label in form.fields[name].choices]


def widget_choices(form, name):
    return [(str(v), str(label)) for v, label in form.fields[name].widget.choices]


def documented_example() -> dict:
    """The JSON example of docs/instrument-wording.md."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"## Example.*?```json\n(.*?)```", text, re.S).group(1)
    return json.loads(block)


def test_msts_levels_carry_enneking_descriptors_and_name_the_intermediate_ones():
    form = form_for("baseline")
    assert widget_choices(form, "msts_pain") == [
        ("0", "0 – Severe, continuously disabling"),
        ("1", "1 – Moderate, intermittently disabling"),
        ("2", "2 – intermediate (between 1 and 3)"),
        ("3", "3 – Modest, not disabling"),
        ("4", "4 – intermediate (between 3 and 5)"),
        ("5", "5 – No pain"),
        ("", "Not answered"),
    ]


def test_mirels_ecog_and_asa_are_radio_levels_in_the_models_ranges():
    form = form_for("baseline")
    assert widget_choices(form, "mirels_size")[:3] == [
        ("1", "1 – Less than 1/3 of the bone's diameter"),
        ("2", "2 – 1/3 to 2/3 of the diameter"),
        ("3", "3 – More than 2/3 of the diameter"),
    ]
    assert widget_choices(form, "mirels_pain")[2] == ("3", "3 – Functional")
    # ECOG 0–4 (the model allows no 5), ASA 1–5.
    assert [v for v, _ in widget_choices(form, "ecog")] == ["0", "1", "2", "3", "4", ""]
    assert [v for v, _ in widget_choices(form, "asa")] == ["1", "2", "3", "4", "5", ""]
    asa_i = ("1", "1 – ASA I: a normal healthy patient")
    assert widget_choices(form, "asa")[0] == asa_i
    html = render_crispy_form(form)
    assert re.search(r'<input type="radio"[^>]*name="ecog"', html)


def test_clavien_dindo_is_a_radio_group_with_its_grades():
    form = form_for("adverse-event")
    levels = widget_choices(form, "clavien_dindo")
    assert [v for v, _ in levels] == [
        "I",
        "II",
        "IIIa",
        "IIIb",
        "IVa",
        "IVb",
        "V",
        "",
    ]
    assert levels[6] == ("V", "V – Death of the patient")
    bound = form_for(
        "adverse-event", {"clavien_dindo": "IIIb"}, instance=AdverseEvent()
    )
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["clavien_dindo"] == "IIIb"


def test_licensed_items_show_neutral_labels_and_numbered_levels_by_default():
    form = form_for("baseline")
    assert form.fields["tess_7"].label == "TESS item 7"
    assert widget_choices(form, "tess_7") == [
        ("1", "1"),
        ("2", "2"),
        ("3", "3"),
        ("4", "4"),
        ("5", "5"),
        ("", "Not applicable"),
    ]
    assert [v for v, _ in widget_choices(form, "bpi_worst")] == [
        *map(str, range(11)),
        "",
    ]
    assert form.fields["eq5d_mobility"].label.startswith("EQ-5D mobility")


def test_tess_and_bpi_render_as_matrices_in_a_responsive_table():
    form = form_for("baseline")
    matrices = [
        obj.key
        for fieldset in form.helper.layout.fields
        for obj in getattr(fieldset, "fields", [])
        if isinstance(obj, InstrumentMatrix)
    ]
    assert matrices == ["tess", "bpi"]
    html = render_crispy_form(form)
    assert re.search(r'class="table-responsive[^"]*" id="matrix-tess"', html)
    # One row per item, the row's id is what the error summary links to.
    assert html.count('id="div_id_tess_') == 30
    assert html.count('id="div_id_bpi_') == 11


def test_every_instrument_has_its_live_score_beside_it():
    form = form_for("baseline")
    scores = [
        obj.block.key
        for fieldset in form.helper.layout.fields
        for obj in getattr(fieldset, "fields", [])
        if isinstance(obj, ScoreOutput)
    ]
    assert scores == ["mirels", "msts", "tess", "eq5d", "bpi"]
    html = render_crispy_form(form)
    assert 'data-instrument-score="mirels"' in html
    assert 'data-items="mirels_site mirels_pain mirels_lesion mirels_size"' in html


def test_number_fields_show_their_model_range_and_unit():
    baseline = form_for("baseline")
    haemoglobin = baseline.fields["haemoglobin_g_l"]
    assert haemoglobin.help_text == "40–200 g/L"
    assert (haemoglobin.widget.attrs["min"], haemoglobin.widget.attrs["max"]) == (
        40,
        200,
    )
    assert baseline.fields["eq5d_vas"].help_text == "0–100"
    assert baseline.fields["bone_loss_percent"].help_text == "0–100 %"
    assert baseline.fields["expected_survival_months"].help_text == "0–240 months"
    operative = form_for("operative")
    assert operative.fields["duration_min"].help_text == "15–900 min"
    assert operative.fields["blood_loss_ml"].help_text == "0–10000 mL"
    assert operative.fields["transfusion_units"].help_text == "0–50 units"
    html = render_crispy_form(operative)
    assert re.search(r'name="duration_min"[^>]*min="15" max="900"', html)
    # The server is the one judge: no browser check stops a draft.
    assert "novalidate" in html


def test_out_of_range_values_are_still_refused_with_the_model_message():
    form = form_for("baseline", {"ecog": "5", "tess_3": "6"})
    assert not form.is_valid()
    assert form.errors["ecog"] == ["Ensure this value is less than or equal to 4."]
    assert form.errors["tess_3"] == ["Ensure this value is less than or equal to 5."]


def test_summary_links_a_radio_group_to_its_wrapper_and_a_number_to_its_input():
    form = form_for("baseline", {"mirels_site": "7", "haemoglobin_g_l": "300"})
    assert not form.is_valid()
    anchors = {label: anchor for anchor, label, _message in form.error_summary}
    assert anchors == {
        "Mirels: site †": "div_id_mirels_site",
        "Haemoglobin (g/L) †": "id_haemoglobin_g_l",
    }
    html = render_crispy_form(form)
    assert 'id="div_id_mirels_site"' in html


@pytest.mark.django_db
def test_the_reason_for_change_comes_first_on_a_completed_form(users, site_a, screen):
    participant = screen(users["coordinator"], site_a)
    baseline = Baseline.objects.create(
        participant=participant,
        status=FormStatus.COMPLETE,
        created_by=users["coordinator"],
        updated_by=users["coordinator"],
    )
    form = form_for("baseline", instance=baseline)
    first = form.helper.layout.fields[0]
    assert first.fields == ["reason"]
    html = render_crispy_form(form)
    assert html.index('name="reason"') < html.index('name="assessment_date"')


# ---------------------------------------------------------------- wording file


def test_the_documented_example_follows_the_format(tmp_path):
    path = tmp_path / "instrument-wording.json"
    path.write_text(json.dumps(documented_example()), encoding="utf-8")
    assert wording_file_read(path)["languages"]["en"]["tess"]["items"]["1"]


def test_an_installed_wording_file_changes_the_labels(tmp_path, settings):
    path = tmp_path / "instrument-wording.json"
    path.write_text(json.dumps(documented_example()), encoding="utf-8")
    settings.INSTRUMENT_WORDING_FILE = str(path)
    form = form_for("baseline")
    assert form.fields["tess_1"].label == "PLACEHOLDER TESS item one wording"
    assert widget_choices(form, "tess_1")[2] == ("3", "3 – PLACEHOLDER level three")
    assert form.fields["tess_2"].label == "TESS item 2"  # not in the file
    assert form.fields["eq5d_mobility"].label == "PLACEHOLDER mobility question"
    assert widget_choices(form, "eq5d_mobility")[0] == ("1", "1 – PLACEHOLDER best")
    assert widget_choices(form, "eq5d_mobility")[1] == ("2", "2")
    assert form.fields["eq5d_vas"].label == "PLACEHOLDER health scale question"
    assert form.fields["bpi_worst"].label == "PLACEHOLDER worst pain question"
    assert run_checks(tags=["crf"]) == []
    html = render_crispy_form(form)
    assert "PLACEHOLDER level five" in html


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        (
            json.dumps(
                {
                    "format": "perform-instrument-wording",
                    "version": 1,
                    "languages": {
                        "en": {
                            "tess": {
                                "items": {"7": {"text": "x", "levels": {"6": "y"}}}
                            }
                        }
                    },
                }
            ),
            "$.languages.en.tess.items['7'].levels: '6' is not one of",
        ),
        (
            json.dumps(
                {
                    "format": "perform-instrument-wording",
                    "version": 1,
                    "languages": {"en": {"tess": {"items": {"31": {"text": "x"}}}}},
                }
            ),
            "$.languages.en.tess.items: Additional properties are not allowed ('31'",
        ),
        (
            json.dumps({"format": "other", "version": 1, "languages": {}}),
            "$.format: 'perform-instrument-wording' was expected",
        ),
    ],
)
def test_an_invalid_wording_file_is_reported_by_the_check_and_not_used(
    tmp_path, settings, content, problem
):
    path = tmp_path / "instrument-wording.json"
    path.write_text(content, encoding="utf-8")
    settings.INSTRUMENT_WORDING_FILE = str(path)
    with pytest.raises(WordingFileError):
        wording_file_read(path)
    errors = [e for e in run_checks(tags=["crf"]) if e.id == "crf.E001"]
    assert len(errors) == 1
    assert problem in errors[0].msg
    assert str(path) in errors[0].msg
    form = form_for("baseline")
    assert form.fields["tess_7"].label == "TESS item 7"


def test_a_missing_wording_file_is_reported(tmp_path, settings):
    settings.INSTRUMENT_WORDING_FILE = str(tmp_path / "absent.json")
    errors = [e for e in run_checks(tags=["crf"]) if e.id == "crf.E001"]
    assert len(errors) == 1
    assert "cannot read" in errors[0].msg
    assert form_for("baseline").fields["tess_7"].label == "TESS item 7"


def test_no_wording_file_is_no_error(settings):
    settings.INSTRUMENT_WORDING_FILE = ""
    assert [e for e in run_checks(tags=["crf"]) if e.id == "crf.E001"] == []
