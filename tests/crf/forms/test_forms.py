"""CRF web forms: field ranges and required-when-complete; the cross-form
rules (``crf.forms.rules``, checked by the service) on the values the forms
accept; each with a failing input and the exact message."""

import datetime

import pytest

from crf.forms.forms import crf_form_class
from crf.forms.registry import FORMS
from crf.forms.rules import ClinicalContext, form_rule_errors
from crf.models import Operative

TODAY = datetime.date(2026, 6, 1)
CONTEXT = ClinicalContext(
    screening_date=datetime.date(2026, 5, 1),
    today=TODAY,
    randomization_date=datetime.date(2026, 5, 10),
    surgery_date=datetime.date(2026, 5, 12),
)


def bound(key, data, *, complete, participant, instance=None):
    spec = FORMS[key]
    instance = instance or spec.model(participant=participant)
    return crf_form_class(spec)(data, instance=instance, complete=complete)


@pytest.fixture
def participant(users, site_a, screen):
    return screen(users["coordinator"], site_a)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("haemoglobin_g_l", "39", "Ensure this value is greater than or equal to 40."),
        ("haemoglobin_g_l", "201", "Ensure this value is less than or equal to 200."),
        ("ecog", "5", "Ensure this value is less than or equal to 4."),
        ("asa", "0", "Ensure this value is greater than or equal to 1."),
        ("mirels_site", "4", "Ensure this value is less than or equal to 3."),
        ("tess_12", "6", "Ensure this value is less than or equal to 5."),
        ("eq5d_vas", "101", "Ensure this value is less than or equal to 100."),
        ("bpi_worst", "11", "Ensure this value is less than or equal to 10."),
        (
            "primary_cancer",
            "liver",
            "Select a valid choice. liver is not one of the available choices.",
        ),
    ],
)
def test_baseline_rejects_out_of_range_values(participant, field, value, message):
    form = bound("baseline", {field: value}, complete=False, participant=participant)
    assert not form.is_valid()
    assert message in form.errors[field]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-06-02", "The date cannot be in the future."),
        ("2026-04-30", "The date cannot be before screening (01 May 2026)."),
    ],
)
def test_baseline_date_is_not_in_the_future_nor_before_screening(
    participant, value, message
):
    form = bound(
        "baseline", {"assessment_date": value}, complete=False, participant=participant
    )
    assert form.is_valid(), form.errors
    errors = form_rule_errors(form.instance, CONTEXT, complete=False)
    assert errors["assessment_date"] == [message]


@pytest.mark.django_db
def test_impending_fracture_needs_a_mirels_score_of_nine(participant):
    data = {
        "fracture_status": "impending",
        "mirels_site": "2",
        "mirels_pain": "2",
        "mirels_lesion": "2",
        "mirels_size": "2",
    }
    form = bound("baseline", data, complete=False, participant=participant)
    assert form.is_valid(), form.errors
    errors = form_rule_errors(form.instance, CONTEXT, complete=False)
    assert errors["fracture_status"] == [
        "An impending fracture needs a Mirels score of 9 or more; the items add up "
        "to 8."
    ]


@pytest.mark.django_db
def test_complete_needs_every_required_field_but_a_draft_does_not(participant):
    draft = bound(
        "operative", {"procedure": "IF"}, complete=False, participant=participant
    )
    assert draft.is_valid(), draft.errors
    complete = bound(
        "operative", {"procedure": "IF"}, complete=True, participant=participant
    )
    assert not complete.is_valid()
    assert complete.errors["surgery_date"] == ["Required for a complete form."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "data", "field", "message"),
    [
        (
            "operative",
            {"surgery_date": "2026-05-09"},
            "surgery_date",
            "Surgery cannot be before randomization (10 May 2026).",
        ),
        (
            "operative",
            {"procedure": "other"},
            "procedure_other",
            "Describe the procedure performed.",
        ),
        (
            "discharge",
            {"discharge_date": "2026-05-11"},
            "discharge_date",
            "Discharge cannot be before surgery (12 May 2026).",
        ),
        (
            "reoperation",
            {"reoperation_date": "2026-05-11"},
            "reoperation_date",
            "A reoperation cannot be before the index surgery (12 May 2026).",
        ),
        (
            "adverse-event",
            {"onset_date": "2026-05-20", "awareness_date": "2026-05-19"},
            "awareness_date",
            "The site cannot learn of an event before its onset.",
        ),
        (
            "adverse-event",
            {"serious": "true"},
            "serious",
            "Tick at least one seriousness criterion.",
        ),
        (
            "adverse-event",
            {"clavien_dindo": "V", "outcome": "recovered"},
            "outcome",
            "Clavien-Dindo grade V means the outcome was fatal.",
        ),
        (
            "death",
            {"death_date": "2026-05-09"},
            "death_date",
            "Death cannot be before randomization (10 May 2026).",
        ),
    ],
)
def test_cross_form_rules(participant, key, data, field, message):
    form = bound(key, data, complete=False, participant=participant)
    assert form.is_valid(), form.errors  # the form takes the values ...
    errors = form_rule_errors(form.instance, CONTEXT, complete=False)
    assert message in errors[field]  # ... the rules, checked by the service, not


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_min", "10", "Ensure this value is greater than or equal to 15."),
        ("blood_loss_ml", "10001", "Ensure this value is less than or equal to 10000."),
    ],
)
def test_operative_rejects_out_of_range_values(participant, field, value, message):
    form = bound("operative", {field: value}, complete=False, participant=participant)
    assert not form.is_valid()
    assert message in form.errors[field]


@pytest.mark.django_db
def test_editing_a_completed_form_asks_for_a_reason(users, participant):
    existing = Operative.objects.create(
        participant=participant,
        status="complete",
        created_by=users["coordinator"],
        updated_by=users["coordinator"],
    )
    form = bound(
        "operative",
        {"implant": "Nail", "reason": ""},
        complete=False,
        participant=participant,
        instance=existing,
    )
    assert not form.is_valid()
    assert form.errors["reason"] == ["Give the reason for changing a completed form."]
