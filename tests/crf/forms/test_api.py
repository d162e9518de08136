"""/api/v1/participants/<study_id>/forms/ and .../schedule/: reading a
participant's CRFs and visits, and creating and changing forms with the web
forms' validation (field ranges, choices, rules), reasons, versions and locks,
with nothing half-saved."""

import datetime

import pytest
from pghistory.models import Events
from rest_framework.test import APIClient

from crf.forms import services
from crf.forms.selectors import participant_clinical_context
from crf.models import Baseline, FollowUp, FormStatus, Operative, Reoperation
from tests.clock import today
from tests.factories import api_client_for


def forms_url(study_id, key=None, form_id=None):
    url = f"/api/v1/participants/{study_id}/forms/"
    if key:
        url += f"{key}/"
    if form_id:
        url += f"{form_id}/"
    return url


def schedule_url(study_id):
    return f"/api/v1/participants/{study_id}/schedule/"


@pytest.fixture
def api_as(users):
    """``api_as("coordinator")``: a client sending that user's API token."""

    def _api_as(username):
        return api_client_for(users[username])

    return _api_as


@pytest.fixture
def randomized(users, site_a, screen, randomize):
    """A participant at site A randomized 45 days ago, so the ``operative``
    fixture's surgery 40 days ago is on or after randomization (PROTOCOL §7)."""
    participant = screen(users["coordinator"], site_a)
    return randomize(participant, on=today() - datetime.timedelta(days=45))


@pytest.fixture
def operative(users, randomized):
    """A complete operative form: surgery 40 days ago (through the service)."""
    return services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=randomized,
            surgery_date=today() - datetime.timedelta(days=40),
            procedure="IF",
            implant="Cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )


@pytest.fixture
def current_operative(users, randomized):
    """A complete operative form that passes every rule (surgery on the day of
    randomization), to be changed through the API."""
    surgery = participant_clinical_context(randomized).randomization_date
    return services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=randomized,
            surgery_date=surgery,
            procedure="IF",
            implant="Cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )


def complete_operative(*, surgery_date, **overrides):
    fields = {
        "surgery_date": surgery_date.isoformat(),
        "procedure": "IF",
        "implant": "Cephalomedullary nail",
        "duration_min": 95,
        "blood_loss_ml": 400,
        "transfusion_units": 1,
    }
    fields.update(overrides)
    return {"complete": True, "fields": fields}


def site_today(participant):
    return participant_clinical_context(participant).today


# -----------------------------------------------------------------------------
# Reads
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_forms_lists_every_form_with_fields_and_scores(
    users, randomized, operative, api_as
):
    services.form_save(
        actor=users["coordinator"],
        form=Baseline(participant=randomized, msts_pain=5, eq5d_mobility=1),
        complete=False,
    )
    response = api_as("investigator").get(forms_url(randomized.study_id))
    assert response.status_code == 200
    by_key = {item["key"]: item for item in response.json()}
    assert set(by_key) == {"baseline", "operative"}
    op = by_key["operative"]
    assert op["id"] == operative.pk
    assert op["visit"] is None
    assert op["status"] == "complete" and op["locked"] is False
    assert op["version"] == 1 and op["updated_by"] == "coordinator"
    assert op["fields"]["surgery_date"] == operative.surgery_date.isoformat()
    assert op["fields"]["duration_min"] == 95
    assert op["scores"] == {}
    baseline = by_key["baseline"]
    assert baseline["status"] == "draft"
    assert baseline["fields"]["msts_pain"] == 5
    assert set(baseline["scores"]) == {
        "msts_total",
        "msts_percent",
        "tess_score",
        "eq5d_profile",
        "bpi_interference",
        "mirels_total",
    }


@pytest.mark.django_db
def test_schedule_lists_the_visits_from_the_surgery_date(operative, api_as):
    response = api_as("coordinator").get(schedule_url(operative.participant.study_id))
    assert response.status_code == 200
    visits = response.json()
    assert [v["visit"] for v in visits] == ["2w", "6w", "4m", "6m", "9m", "12m"]
    two_weeks, six_weeks = visits[0], visits[1]
    surgery = operative.surgery_date
    assert two_weeks["label"] == "2 weeks"
    assert two_weeks["target_date"] == (surgery + datetime.timedelta(14)).isoformat()
    assert two_weeks["window_start"] == (surgery + datetime.timedelta(10)).isoformat()
    assert two_weeks["window_end"] == (surgery + datetime.timedelta(21)).isoformat()
    assert two_weeks["state"] == "overdue"
    assert six_weeks["state"] == "due"
    assert two_weeks["done_on"] is None and two_weeks["missed_reason"] == ""
    assert two_weeks["forms_expected"]


@pytest.mark.django_db
def test_schedule_is_empty_before_surgery(randomized, api_as):
    response = api_as("coordinator").get(schedule_url(randomized.study_id))
    assert response.status_code == 200 and response.json() == []


# -----------------------------------------------------------------------------
# Create and update
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_create_then_update_with_a_reason_is_audited(randomized, api_as):
    api = api_as("coordinator")
    day = site_today(randomized)
    response = api.post(
        forms_url(randomized.study_id, "operative"),
        complete_operative(surgery_date=day),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "complete" and body["version"] == 1
    form_id = body["id"]

    url = forms_url(randomized.study_id, "operative", form_id)
    response = api.put(
        url,
        {"complete": True, "based_on_version": 1, "fields": {"blood_loss_ml": 650}},
        format="json",
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert Operative.objects.get().blood_loss_ml == 400

    response = api.put(
        url,
        {
            "complete": True,
            "based_on_version": 1,
            "reason": "Anaesthetic chart re-read",
            "fields": {"blood_loss_ml": 650},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2 and body["fields"]["blood_loss_ml"] == 650
    assert body["fields"]["implant"] == "Cephalomedullary nail"  # kept
    form = Operative.objects.get()
    event = (
        Events.objects.tracks(form)
        .filter(pgh_label="update")
        .order_by("-pgh_created_at")
        .first()
    )
    assert event.pgh_diff["blood_loss_ml"] == [400, 650]
    assert event.pgh_context["reason"] == "Anaesthetic chart re-read"
    assert event.pgh_context["username"] == "coordinator"


@pytest.mark.django_db
def test_single_form_is_created_once(operative, api_as):
    response = api_as("coordinator").post(
        forms_url(operative.participant.study_id, "operative"),
        {"fields": {"implant": "Plate"}},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "form_exists"
    assert Operative.objects.count() == 1


@pytest.mark.django_db
def test_follow_up_needs_a_visit_and_one_per_visit(operative, api_as):
    api = api_as("coordinator")
    url = forms_url(operative.participant.study_id, "follow-up")
    visit_date = site_today(operative.participant).isoformat()
    response = api.post(url, {"fields": {"visit_date": visit_date}}, format="json")
    assert response.status_code == 400 and "visit" in response.json()
    response = api.post(
        url, {"visit": "7y", "fields": {"visit_date": visit_date}}, format="json"
    )
    assert response.status_code == 400 and "visit" in response.json()
    response = api.post(
        url, {"visit": "6w", "fields": {"visit_date": visit_date}}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["visit"] == "6w"
    response = api.post(
        url, {"visit": "6w", "fields": {"visit_date": visit_date}}, format="json"
    )
    assert response.status_code == 409
    assert FollowUp.objects.count() == 1


@pytest.mark.django_db
def test_repeatable_forms_are_created_as_a_list(randomized, api_as):
    api = api_as("coordinator")
    url = forms_url(randomized.study_id, "adverse-event")
    for term in ("Wound infection", "Pneumonia"):
        response = api.post(url, {"fields": {"term": term}}, format="json")
        assert response.status_code == 201, response.json()
    listed = api.get(forms_url(randomized.study_id)).json()
    assert [f["fields"]["term"] for f in listed] == ["Wound infection", "Pneumonia"]


# -----------------------------------------------------------------------------
# Bad input: 400 with field messages, nothing saved
# -----------------------------------------------------------------------------
BAD_BASELINE = [
    ("haemoglobin_g_l", 300, "less than or equal to 200"),
    ("eq5d_vas", 101, "less than or equal to 100"),
    ("bone_metastases", "dozens", "not a valid choice"),
    ("assessment_date", "future", "cannot be in the future"),
    ("assessment_date", "31/02/2025", "Date has wrong format"),
    ("no_such_field", 1, "Unknown field."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value", "message"), BAD_BASELINE)
def test_bad_baseline_values_are_refused_and_nothing_is_saved(
    randomized, api_as, name, value, message
):
    if value == "future":
        value = (site_today(randomized) + datetime.timedelta(days=2)).isoformat()
    response = api_as("coordinator").post(
        forms_url(randomized.study_id, "baseline"),
        {"fields": {"msts_pain": 3, name: value}},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["fields"]
    assert list(errors) == [name]
    assert any(message in text for text in errors[name]), errors
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_out_of_range_duration_on_update_changes_nothing(current_operative, api_as):
    response = api_as("coordinator").put(
        forms_url(
            current_operative.participant.study_id, "operative", current_operative.pk
        ),
        {
            "complete": True,
            "reason": "typo",
            "fields": {"duration_min": 5, "blood_loss_ml": 900},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "duration_min": ["Ensure this value is greater than or equal to 15."]
        }
    }
    form = Operative.objects.get()
    assert (form.duration_min, form.blood_loss_ml, form.version) == (95, 400, 1)


@pytest.mark.django_db
def test_surgery_before_randomization_is_refused(randomized, api_as):
    before = participant_clinical_context(randomized).randomization_date
    response = api_as("coordinator").post(
        forms_url(randomized.study_id, "operative"),
        complete_operative(surgery_date=before - datetime.timedelta(days=1)),
        format="json",
    )
    assert response.status_code == 400
    messages = response.json()["fields"]["surgery_date"]
    assert any("Surgery cannot be before randomization" in m for m in messages)
    assert not Operative.objects.exists()


@pytest.mark.django_db
def test_a_reoperation_before_surgery_is_refused(operative, api_as):
    participant = operative.participant
    response = api_as("coordinator").post(
        forms_url(participant.study_id, "reoperation"),
        {
            "complete": False,
            "fields": {
                "reoperation_date": (
                    operative.surgery_date - datetime.timedelta(days=1)
                ).isoformat(),
                "reason": "infection",
            },
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "reoperation_date": [
                "A reoperation cannot be before the index surgery "
                f"({operative.surgery_date:%d %b %Y})."
            ]
        }
    }
    assert not Reoperation.objects.exists()


@pytest.mark.django_db
def test_moving_surgery_after_a_stored_reoperation_is_refused(users, operative, api_as):
    participant = operative.participant
    reoperation_day = operative.surgery_date + datetime.timedelta(days=5)
    services.form_save(
        actor=users["coordinator"],
        form=Reoperation(participant=participant, reoperation_date=reoperation_day),
        complete=False,
    )
    response = api_as("coordinator").put(
        forms_url(participant.study_id, "operative", operative.pk),
        {
            "complete": True,
            "reason": "Date from the theatre log",
            "fields": {
                "surgery_date": (
                    reoperation_day + datetime.timedelta(days=1)
                ).isoformat()
            },
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "surgery_date": [
                f"Surgery cannot be after the reoperation ({reoperation_day:%d %b %Y}):"
                " correct that form first."
            ]
        }
    }
    operative.refresh_from_db()
    assert operative.version == 1


@pytest.mark.django_db
def test_complete_form_names_the_missing_fields(randomized, api_as):
    response = api_as("coordinator").post(
        forms_url(randomized.study_id, "operative"),
        {
            "complete": True,
            "fields": {
                "surgery_date": site_today(randomized).isoformat(),
                "procedure": "IF",
            },
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["fields"]
    assert set(errors) == {
        "implant",
        "duration_min",
        "blood_loss_ml",
        "transfusion_units",
    }
    assert errors["implant"] == ["Required for a complete form."]
    assert not Operative.objects.exists()


@pytest.mark.django_db
def test_malformed_body_is_a_400(randomized, api_as):
    api = api_as("coordinator")
    url = forms_url(randomized.study_id, "baseline")
    response = api.post(url, {"complete": "maybe", "fields": []}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"complete", "fields"}
    response = api.post(url, "not json", content_type="application/json")
    assert response.status_code == 400
    assert not Baseline.objects.exists()


# -----------------------------------------------------------------------------
# Versions and locks
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_change_based_on_an_old_version_is_a_409(users, current_operative, api_as):
    current_operative.implant = "Plate"
    services.form_save(
        actor=users["investigator"],
        form=current_operative,
        complete=True,
        reason="Op note",
    )
    response = api_as("coordinator").put(
        forms_url(
            current_operative.participant.study_id, "operative", current_operative.pk
        ),
        {
            "complete": True,
            "reason": "Chart",
            "based_on_version": 1,
            "fields": {"blood_loss_ml": 650},
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale_form"
    form = Operative.objects.get()
    assert (form.blood_loss_ml, form.version) == (400, 2)


@pytest.mark.django_db
def test_a_locked_form_is_a_409(users, current_operative, api_as):
    services.form_lock(actor=users["datamanager"], form=current_operative, locked=True)
    response = api_as("coordinator").put(
        forms_url(
            current_operative.participant.study_id, "operative", current_operative.pk
        ),
        {"complete": True, "reason": "Chart", "fields": {"blood_loss_ml": 650}},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "form_locked"
    form = Operative.objects.get()
    assert (form.blood_loss_ml, form.version, form.locked) == (400, 1, True)


@pytest.mark.django_db
def test_saving_a_draft_over_a_complete_form_still_needs_a_reason(
    current_operative, api_as
):
    response = api_as("coordinator").put(
        forms_url(
            current_operative.participant.study_id, "operative", current_operative.pk
        ),
        {"complete": False, "fields": {"implant": ""}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    assert Operative.objects.get().status == FormStatus.COMPLETE


# -----------------------------------------------------------------------------
# Who may
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_another_sites_coordinator_gets_404(current_operative, api_as):
    api = api_as("coordinator2")
    study_id = current_operative.participant.study_id
    assert api.get(forms_url(study_id)).status_code == 404
    assert api.get(schedule_url(study_id)).status_code == 404
    response = api.put(
        forms_url(study_id, "operative", current_operative.pk),
        {"fields": {"implant": "Plate"}},
        format="json",
    )
    assert response.status_code == 404
    assert Operative.objects.get().implant == "Cephalomedullary nail"


@pytest.mark.django_db
def test_dsmb_member_gets_403(operative, api_as):
    api = api_as("dsmb")
    study_id = operative.participant.study_id
    assert api.get(forms_url(study_id)).status_code == 403
    assert api.get(schedule_url(study_id)).status_code == 403
    response = api.post(forms_url(study_id, "baseline"), {}, format="json")
    assert response.status_code == 403
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_a_role_that_may_only_read_cannot_write(operative, api_as):
    api = api_as("statistician")
    study_id = operative.participant.study_id
    assert api.get(forms_url(study_id)).status_code == 200
    response = api.post(forms_url(study_id, "baseline"), {}, format="json")
    assert response.status_code == 403
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_anonymous_gets_401(operative):
    api = APIClient()
    study_id = operative.participant.study_id
    assert api.get(forms_url(study_id)).status_code == 401
    assert api.get(schedule_url(study_id)).status_code == 401
    response = api.post(forms_url(study_id, "baseline"), {}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_unknown_form_key_or_id_is_404(operative, api_as):
    api = api_as("coordinator")
    study_id = operative.participant.study_id
    response = api.post(forms_url(study_id, "no-such-form"), {}, format="json")
    assert response.status_code == 404
    response = api.put(forms_url(study_id, "baseline", operative.pk), {}, format="json")
    assert response.status_code == 404
