"""Missing-data codes and partial dates (PROTOCOL §7, issue 15): a code is
stored apart from blank, counts as answered for a complete form, is shown by
its label, audited, exposed and accepted by the API through the same service;
the partial date of diagnosis is stored and shown as entered, and a wrong one
is refused with a clear message."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pghistory.models import Events

from crf.forms import services
from crf.forms.missing_data import partial_date_error
from crf.forms.registry import FORMS
from crf.models import Baseline, FormStatus, MissingCode
from tests.clock import today
from tests.crf.forms.test_views import COMPLETE
from tests.factories import api_client_for


@pytest.fixture
def screened(users, site_a, screen):
    return screen(users["coordinator"], site_a)


def baseline_post(**overrides) -> dict:
    data = {**COMPLETE["baseline"], "assessment_date": today().isoformat()}
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def baseline_url(participant) -> str:
    return reverse("crf:single_edit", args=[participant.study_id, "baseline"])


def test_never_coded_fields_are_left_out_of_the_codable_ones():
    baseline = FORMS["baseline"].codable_fields
    assert "ecog" in baseline and "primary_cancer_diagnosis" in baseline
    assert "fracture_status" not in baseline and "assessment_date" not in baseline
    assert "sae_death" not in FORMS["adverse-event"].codable_fields  # a checkbox
    assert "serious" not in FORMS["adverse-event"].codable_fields


@pytest.mark.django_db
def test_a_coded_required_field_completes_the_form_and_reads_back_as_its_label(
    client, users, screened
):
    client.force_login(users["coordinator"])
    url = baseline_url(screened)
    page = client.get(url).content.decode()
    assert 'name="missing__ecog"' in page
    assert 'name="missing__fracture_status"' not in page

    response = client.post(
        url, baseline_post(ecog=None, missing__ecog="ILL", save_complete="1")
    )
    assert response.status_code == 302, response.context["form"].errors
    form = Baseline.objects.get()
    assert form.status == FormStatus.COMPLETE
    assert form.ecog is None and form.missing_codes == {"ecog": "ILL"}
    assert 'value="ILL" selected' in client.get(url).content.decode()

    client.force_login(users["datamanager"])  # sees the form read-only
    read_only = client.get(url).content.decode()
    assert "Participant too ill (ILL)" in read_only

    event = Events.objects.tracks(form).filter(pgh_label="insert").get()
    assert event.pgh_data["missing_codes"] == {"ecog": "ILL"}


@pytest.mark.django_db
def test_an_item_of_an_instrument_matrix_takes_a_code_and_keeps_it_on_resave(
    client, users, screened
):
    """TESS and BPI items are laid out as a matrix: each row has its code
    select, so a stored code is shown and posted back, never dropped."""
    client.force_login(users["coordinator"])
    url = baseline_url(screened)
    page = client.get(url).content.decode()
    matrix = page[page.index('id="matrix-bpi"') :]
    assert 'name="missing__bpi_worst"' in matrix[: matrix.index("</table>")]

    response = client.post(
        url, baseline_post(bpi_worst=None, missing__bpi_worst="DEC", save_draft="1")
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Baseline.objects.get().missing_codes == {"bpi_worst": "DEC"}
    page = client.get(url).content.decode()
    assert re.search(
        r'name="missing__bpi_worst"[^>]*>(?:(?!</select>).)*'
        r'value="DEC" selected',
        page,
        re.S,
    )


@pytest.mark.django_db
def test_without_value_or_code_a_required_field_stops_a_complete_save(
    client, users, screened
):
    client.force_login(users["coordinator"])
    response = client.post(
        baseline_url(screened), baseline_post(ecog=None, save_complete="1")
    )
    assert response.context["form"].errors["ecog"] == ["Required for a complete form."]
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_a_value_and_a_code_together_are_refused(client, users, screened):
    client.force_login(users["coordinator"])
    response = client.post(
        baseline_url(screened),
        baseline_post(ecog="2", missing__ecog="UNK", save_draft="1"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["ecog"] == [
        "Give either a value or a missing-data code (Unknown (UNK)), not both."
    ]
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_a_code_on_a_field_that_must_never_be_missing(
    users, screened
):
    form = Baseline(participant=screened, missing_codes={"fracture_status": "UNK"})
    with pytest.raises(ValidationError) as refusal:
        services.form_save(actor=users["coordinator"], form=form, complete=False)
    assert refusal.value.message_dict["fracture_status"] == [
        "Fracture status cannot be recorded as missing."
    ]
    form = Baseline(participant=screened, missing_codes={"ecog": "LOST"})
    with pytest.raises(ValidationError) as refusal:
        services.form_save(actor=users["coordinator"], form=form, complete=False)
    assert "is not a missing-data code" in refusal.value.message_dict["ecog"][0]
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_scores_treat_a_coded_item_as_unanswered(users, screened):
    form = services.form_save(
        actor=users["coordinator"],
        form=Baseline(
            participant=screened,
            bpi_general_activity=4,
            bpi_mood=6,
            missing_codes={"bpi_sleep": "DEC"},
        ),
        complete=False,
    )
    assert float(form.bpi_interference) == 5.0


@pytest.mark.django_db
def test_the_api_accepts_and_exposes_codes_through_the_service(users, screened):
    api = api_client_for(users["coordinator"])
    url = f"/api/v1/participants/{screened.study_id}/forms/baseline/"
    fields = {
        name: (int(value) if value.isdigit() else value)
        for name, value in baseline_post(ecog=None).items()
    }
    fields["visceral_metastases"] = False
    refused = api.post(
        url,
        {"complete": True, "fields": fields, "missing_codes": {"asa": "ND"}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"ecog": ["Required for a complete form."]}

    coded = {"ecog": "UNK", "asa": "ND"}
    fields.pop("asa")
    created = api.post(
        url,
        {"complete": True, "fields": fields, "missing_codes": coded},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["missing_codes"] == coded
    listed = api.get(f"/api/v1/participants/{screened.study_id}/forms/").json()
    assert listed[0]["missing_codes"] == coded

    unknown = api.put(
        f"{url}{created.json()['id']}/",
        {"reason": "Chart", "missing_codes": {"no_such_field": "NA"}},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json() == {"missing_codes": {"no_such_field": ["Unknown field."]}}

    both = api.put(
        f"{url}{created.json()['id']}/",
        {"reason": "Chart", "fields": {"ecog": 1}},
        format="json",
    )
    assert both.status_code == 400
    assert "not both" in both.json()["fields"]["ecog"][0]
    assert Baseline.objects.get().ecog is None


@pytest.mark.parametrize(
    "entered, problem",
    [
        ("2021", None),
        ("2021-03", None),
        ("2021-03-15", None),
        ("21", "Enter the date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2021/03", "Enter the date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2021-3", "Enter the date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2021-13", "2021-13 has no month 13: months are 01 to 12."),
        ("2021-02-30", "2021-02-30 is not a real date."),
        ("1850", "The year must be 1900 or later."),
        ("2031", "The date cannot be in the future."),
        ("2026-12", None),
        ("2027-01", "The date cannot be in the future."),
        ("2026-12-05", "The date cannot be in the future."),
    ],
)
def test_partial_dates_are_checked_by_one_function(entered, problem):
    error = partial_date_error(entered, today=datetime.date(2026, 12, 4))
    if problem is None:
        assert error is None
    else:
        assert error.startswith(problem)


@pytest.mark.django_db
@pytest.mark.parametrize("entered", ["2019", "2019-07", "2019-07-21"])
def test_a_partial_date_is_stored_and_shown_as_entered(
    client, users, screened, entered
):
    client.force_login(users["coordinator"])
    url = baseline_url(screened)
    response = client.post(
        url, baseline_post(primary_cancer_diagnosis=entered, save_complete="1")
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Baseline.objects.get().primary_cancer_diagnosis == entered
    assert f'value="{entered}"' in client.get(url).content.decode()
    client.force_login(users["datamanager"])
    shown = client.get(url).content.decode()
    row = re.search(
        r'id="div_id_primary_cancer_diagnosis">[^<]*</dt><dd class="col-sm-7">([^<]*)<',
        shown,
    )
    assert row and row.group(1).strip() == entered


@pytest.mark.django_db
def test_a_wrong_partial_date_is_refused_with_a_clear_message(client, users, screened):
    client.force_login(users["coordinator"])
    response = client.post(
        baseline_url(screened),
        baseline_post(primary_cancer_diagnosis="2019-13", save_draft="1"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["primary_cancer_diagnosis"] == [
        "2019-13 has no month 13: months are 01 to 12."
    ]
    assert not Baseline.objects.exists()


def test_every_code_of_the_protocol_is_defined():
    assert MissingCode.values == ["NA", "UNK", "ND", "ILL", "DEC", "DIED"]
