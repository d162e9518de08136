"""Branching logic (issue 15): declared once per form in the registry, rendered
on each field's wrapper for the browser, and enforced by the service for the
web form and the API alike: a value for a field whose condition is false is
refused with a message naming the condition, and nothing is saved."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crf.forms import services
from crf.forms.registry import FORMS
from crf.models import AdverseEvent, Operative, Reoperation
from tests.clock import today
from tests.factories import api_client_for


@pytest.fixture
def operated(users, site_a, screen, randomize):
    participant = randomize(
        screen(users["coordinator"], site_a), on=today() - datetime.timedelta(days=45)
    )
    services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=participant,
            surgery_date=today() - datetime.timedelta(days=40),
            procedure="IF",
            implant="Nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )
    return participant


def ae_fields(**overrides) -> dict:
    fields = {
        "term": "Wound infection",
        "body_system": "infections",
        "onset_date": (today() - datetime.timedelta(days=30)).isoformat(),
        "awareness_date": (today() - datetime.timedelta(days=29)).isoformat(),
        "clavien_dindo": "II",
        "serious": False,
        "relatedness": "possible",
        "expected": False,
        "outcome": "recovering",
    }
    fields.update(overrides)
    return fields


def test_the_registry_declares_the_branching_of_the_protocol():
    ae = FORMS["adverse-event"].branching
    for name in (
        "sae_death",
        "sae_life_threatening",
        "sae_hospitalization",
        "sae_disability",
        "sae_other_important",
    ):
        assert ae[name].field == "serious" and ae[name].values == (True,)
    assert ae["resolution_date"].field == "outcome"
    assert FORMS["baseline"].branching["primary_cancer_other"].field == (
        "primary_cancer"
    )
    assert FORMS["operative"].branching["procedure_other"].field == "procedure"
    assert FORMS["reoperation"].branching["reason_other"].field == "reason"
    for spec in FORMS.values():
        for name, condition in spec.branching.items():
            assert name in spec.fields and condition.field in spec.fields


@pytest.mark.django_db
def test_the_form_renders_each_condition_on_the_field_wrapper(client, users, operated):
    client.force_login(users["coordinator"])
    url = reverse("crf:repeatable_new", args=[operated.study_id, "adverse-event"])
    html = client.get(url).content.decode()
    assert (
        'data-field="sae_death" data-shown-when-field="serious" '
        'data-shown-when-values="[&quot;true&quot;]"'
    ) in html
    assert 'data-shown-when-field="outcome"' in html
    assert "js/branching.js" in html


@pytest.mark.django_db
def test_web_post_of_a_criterion_with_serious_no_is_refused_and_not_saved(
    client, users, operated
):
    client.force_login(users["coordinator"])
    url = reverse("crf:repeatable_new", args=[operated.study_id, "adverse-event"])
    data = {**ae_fields(serious="false"), "sae_death": "on", "save_draft": "1"}
    data.pop("expected")
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["sae_death"] == [
        "Resulted in death does not apply when Serious is No: clear it."
    ]
    assert not AdverseEvent.objects.exists()


@pytest.mark.django_db
def test_api_value_for_a_hidden_field_is_refused_and_not_saved(users, operated):
    api = api_client_for(users["coordinator"])
    url = f"/api/v1/participants/{operated.study_id}/forms/adverse-event/"
    response = api.post(
        url,
        {"fields": ae_fields(resolution_date=today().isoformat())},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["resolution_date"] == [
        "Resolution date does not apply when Outcome is Recovering: clear it."
    ]
    assert not AdverseEvent.objects.exists()

    shown = api.post(
        url,
        {
            "fields": ae_fields(
                outcome="recovered",
                resolution_date=today().isoformat(),
                serious=True,
                sae_hospitalization=True,
            )
        },
        format="json",
    )
    assert shown.status_code == 201, shown.json()
    saved = AdverseEvent.objects.get()
    assert saved.resolution_date == today() and saved.sae_hospitalization


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key, fields, hidden",
    [
        (
            "reoperation",
            {"reoperation_date": -20, "reason": "infection", "reason_other": "x"},
            "reason_other",
        ),
        ("operative", {"procedure": "IF", "procedure_other": "x"}, "procedure_other"),
        (
            "baseline",
            {"primary_cancer": "breast", "primary_cancer_other": "x"},
            "primary_cancer_other",
        ),
    ],
)
def test_other_text_without_other_chosen_is_refused(
    users, operated, key, fields, hidden
):
    spec = FORMS[key]
    if key == "operative":
        spec.model.objects.all().delete()
    values = {
        name: today() + datetime.timedelta(days=value)
        if isinstance(value, int)
        else value
        for name, value in fields.items()
    }
    form = spec.model(participant=operated, **values)
    with pytest.raises(ValidationError) as refusal:
        services.form_save(actor=users["coordinator"], form=form, complete=False)
    assert "does not apply when" in str(refusal.value.message_dict[hidden])
    assert not spec.model.objects.filter(participant=operated).exists()


@pytest.mark.django_db
def test_other_text_is_kept_when_other_is_chosen(users, operated):
    form = services.form_save(
        actor=users["coordinator"],
        form=Reoperation(
            participant=operated,
            reoperation_date=today() - datetime.timedelta(days=20),
            reason="other",
            reason_other="Wound dehiscence",
        ),
        complete=False,
    )
    assert Reoperation.objects.get(pk=form.pk).reason_other == "Wound dehiscence"
