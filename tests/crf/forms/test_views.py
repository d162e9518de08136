"""CRF pages: every form of the registry entered through the web UI as a
draft, completed, edited with a reason, signed, locked and unlocked
(issue 4, must-show 1); scope, roles and bad input."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.forms import services
from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE
from crf.models import FormStatus, Operative
from crf.models.clinical import INSTRUMENT_FIELDS_REQUIRED
from crf.schedule.visits import site_today
from randomization.models import Slot

TODAY = site_today("America/Toronto")


def days_ago(n: int) -> str:
    return (TODAY - datetime.timedelta(days=n)).isoformat()


SURGERY_DAYS_AGO = 40  # the 6-week window (days 35–56) is open today
INSTRUMENTS = {
    name: ("70" if name == "eq5d_vas" else "2") for name in INSTRUMENT_FIELDS_REQUIRED
}

# A minimal valid complete payload per CRF; ``change`` is the field edited later.
COMPLETE = {
    "baseline": {
        "assessment_date": days_ago(55),
        "primary_cancer": "breast",
        "lesion_region": "intertrochanteric",
        "fracture_status": "impending",
        "mirels_site": "3",
        "mirels_pain": "3",
        "mirels_lesion": "2",
        "mirels_size": "2",
        "bone_loss_percent": "50",
        "visceral_metastases": "false",
        "bone_metastases": "2-4",
        "haemoglobin_g_l": "120",
        "ecog": "1",
        "asa": "2",
        "expected_survival_months": "12",
        **INSTRUMENTS,
    },
    "operative": {
        "surgery_date": days_ago(SURGERY_DAYS_AGO),
        "procedure": "IF",
        "implant": "Cephalomedullary nail",
        "duration_min": "95",
        "blood_loss_ml": "400",
        "transfusion_units": "1",
    },
    "discharge": {"discharge_date": days_ago(35), "destination": "home"},
    "follow-up": {"visit_date": TODAY.isoformat(), "vital_status": "alive"},
    "adverse-event": {
        "term": "Wound infection",
        "body_system": "infections",
        "onset_date": days_ago(30),
        "awareness_date": days_ago(29),
        "clavien_dindo": "II",
        "serious": "false",
        "relatedness": "possible",
        "expected": "false",
        "outcome": "recovered",
    },
    "reoperation": {
        "reoperation_date": days_ago(20),
        "reason": "infection",
        "procedure": "Debridement and implant retention",
    },
    "local-recurrence": {"recurrence_date": days_ago(10), "detected_by": "mri"},
    "death": {"death_date": days_ago(1), "primary_cause": "progression"},
    "withdrawal": {
        "kind": "withdrawn",
        "withdrawal_date": days_ago(1),
        "reason": "Moved abroad",
        "data_use_permitted": "true",
    },
    "deviation": {
        "deviation_date": days_ago(5),
        "category": "visit",
        "description": "Visit a day outside the window",
        "severity": "minor",
    },
}
# field, new value, how the stored value reads back
CHANGE = {
    "baseline": ("haemoglobin_g_l", "118", 118),
    "operative": ("blood_loss_ml", "650", 650),
    "discharge": ("destination", "rehabilitation", "rehabilitation"),
    "follow-up": ("ambulatory_status", "aid", "aid"),
    "adverse-event": ("term", "Deep wound infection", "Deep wound infection"),
    "reoperation": ("procedure", "Debridement", "Debridement"),
    "local-recurrence": ("detected_by", "ct", "ct"),
    "death": ("cause_detail", "Pulmonary metastases", "Pulmonary metastases"),
    "withdrawal": ("reason", "Moved to another country", "Moved to another country"),
    "deviation": ("severity", "major", "major"),
}

CHANGE_REASON_ERROR = "Give the reason for changing a completed form."


def test_every_registry_form_has_a_payload():
    assert set(COMPLETE) == set(FORMS) == set(CHANGE)


@pytest.fixture
def randomized(users, site_a, screen):
    """A participant screened 60 days ago and randomized 50 days ago."""
    from perform import services as core
    from randomization import services as rnd

    participant = screen(
        users["coordinator"],
        site_a,
        screening_date=TODAY - datetime.timedelta(days=60),
    )
    core.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=TODAY - datetime.timedelta(days=58),
        form_version="v1",
        obtained_by="Dr A",
    )
    allocation_list = rnd.list_generate(
        actor=users["statistician"],
        name="L",
        seed=1,
        slots_per_stratum=4,
        sites=[site_a],
    )
    rnd.list_activate(actor=users["statistician"], allocation_list=allocation_list)
    rnd.participant_randomize(actor=users["randomizer"], participant=participant)
    Slot.objects.filter(participant=participant).update(
        allocated_at=timezone.now() - datetime.timedelta(days=50)
    )
    participant.refresh_from_db()
    return participant


@pytest.fixture
def operated(users, randomized):
    """The randomized participant, operated on 40 days ago."""
    fields = {
        **COMPLETE["operative"],
        "surgery_date": TODAY - datetime.timedelta(days=SURGERY_DAYS_AGO),
    }
    for name in ("duration_min", "blood_loss_ml", "transfusion_units"):
        fields[name] = int(fields[name])
    services.form_save(
        actor=users["coordinator"],
        form=Operative(participant=randomized, **fields),
        complete=True,
    )
    return randomized


def entry_url(participant, key: str) -> str:
    spec = FORMS[key]
    if spec.kind == PER_VISIT:
        return reverse("crf:visit_edit", args=[participant.study_id, "6w"])
    if spec.kind == REPEATABLE:
        return reverse("crf:repeatable_new", args=[participant.study_id, key])
    return reverse("crf:single_edit", args=[participant.study_id, key])


def stored(key, participant):
    return FORMS[key].model.objects.filter(participant=participant).get()


def reason_field(key) -> str:
    return "change_reason" if "reason" in FORMS[key].fields else "reason"


@pytest.mark.django_db
@pytest.mark.parametrize("key", list(FORMS))
def test_every_form_through_its_whole_life_on_the_web(
    client, users, operated, password, key
):
    participant = operated
    if key == "operative":  # enter the operative form itself
        Operative.objects.all().delete()
    payload = COMPLETE[key]
    client.force_login(users["coordinator"])
    url = entry_url(participant, key)
    assert client.get(url).status_code == 200

    # Draft: one field is enough.
    first = next(iter(payload))
    response = client.post(url, {first: payload[first], "save_draft": "1"})
    assert response.status_code == 302, response.context["form"].errors
    form = stored(key, participant)
    assert form.status == FormStatus.DRAFT and form.version == 1
    detail = response["Location"]
    assert client.get(detail).status_code == 200

    # Complete.
    response = client.post(
        detail, {**payload, "based_on_version": 1, "save_complete": "1"}
    )
    assert response.status_code == 302, response.context["form"].errors
    form.refresh_from_db()
    assert form.status == FormStatus.COMPLETE and form.version == 2

    # Edit without a reason: refused with the message; nothing saved.
    field, value, read_back = CHANGE[key]
    changed = {**payload, field: value, "based_on_version": 2, "save_complete": "1"}
    response = client.post(detail, changed)
    assert response.status_code == 200
    assert response.context["form"].errors[reason_field(key)] == [CHANGE_REASON_ERROR]
    assert CHANGE_REASON_ERROR in response.content.decode()
    form.refresh_from_db()
    assert form.version == 2
    # With a reason.
    response = client.post(
        detail, {**changed, reason_field(key): "Source document re-read"}
    )
    assert response.status_code == 302, response.context["form"].errors
    form.refresh_from_db()
    assert form.version == 3 and getattr(form, field) == read_back

    # Sign: the investigator enters the password again.
    client.force_login(users["investigator"])
    sign = detail + "sign/"
    response = client.post(sign, {"password": "wrong"})
    assert response.status_code == 200
    assert "The password is not correct; the form is not signed." in (
        response.content.decode()
    )
    form.refresh_from_db()
    assert form.status == FormStatus.COMPLETE
    assert client.post(sign, {"password": password}).status_code == 302
    form.refresh_from_db()
    assert form.status == FormStatus.SIGNED
    assert form.signed_by == users["investigator"]

    # Lock: the data manager; then the coordinator sees it read-only.
    client.force_login(users["datamanager"])
    assert client.post(detail + "lock/").status_code == 302
    form.refresh_from_db()
    assert form.locked
    client.force_login(users["coordinator"])
    page = client.get(detail)
    assert page.context["read_only"] and page.context["form"] is None
    assert b'id="read-only-form"' in page.content
    assert b"save-complete" not in page.content
    response = client.post(detail, {**changed, reason_field(key): "Late correction"})
    assert response.status_code == 200
    assert b"This form is locked by the Methods Centre." in response.content
    form.refresh_from_db()
    assert form.locked and form.version == 3

    # Unlock needs a reason.
    client.force_login(users["datamanager"])
    response = client.post(detail + "unlock/", {"reason": ""})
    assert response.status_code == 200 and response.context["form"].errors
    form.refresh_from_db()
    assert form.locked
    response = client.post(
        detail + "unlock/", {"reason": "Query answered; correction allowed"}
    )
    assert response.status_code == 302
    form.refresh_from_db()
    assert not form.locked
    client.force_login(users["coordinator"])
    assert b"save-complete" in client.get(detail).content


@pytest.mark.django_db
def test_a_bad_value_re_renders_with_the_field_error_and_saves_nothing(
    client, users, operated
):
    client.force_login(users["coordinator"])
    url = entry_url(operated, "baseline")
    response = client.post(
        url,
        {**COMPLETE["baseline"], "haemoglobin_g_l": "39", "save_complete": "1"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["haemoglobin_g_l"] == [
        "Ensure this value is greater than or equal to 40."
    ]
    assert "Ensure this value is greater than or equal to 40." in (
        response.content.decode()
    )
    assert not FORMS["baseline"].model.objects.exists()


@pytest.mark.django_db
def test_a_cross_form_rule_shows_its_error(client, users, operated):
    client.force_login(users["coordinator"])
    response = client.post(
        entry_url(operated, "discharge"),
        {"discharge_date": days_ago(45), "destination": "home", "save_draft": "1"},
    )
    assert response.status_code == 200
    surgery = (TODAY - datetime.timedelta(days=SURGERY_DAYS_AGO)).strftime("%d %b %Y")
    assert response.context["form"].errors["discharge_date"] == [
        f"Discharge cannot be before surgery ({surgery})."
    ]
    assert not FORMS["discharge"].model.objects.exists()


def assert_refused_on_the_page(response, field, message):
    """The page re-renders with the message on ``field`` and in the summary at
    the top, once each."""
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    page = response.content.decode()
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert message in summary
    assert page.count(message) == 2  # the summary and the field, nothing more


@pytest.mark.django_db
def test_surgery_before_randomization_is_refused_on_the_page(client, users, randomized):
    client.force_login(users["coordinator"])
    response = client.post(
        entry_url(randomized, "operative"),
        {**COMPLETE["operative"], "surgery_date": days_ago(51), "save_complete": "1"},
    )
    randomized_on = (TODAY - datetime.timedelta(days=50)).strftime("%d %b %Y")
    assert_refused_on_the_page(
        response,
        "surgery_date",
        f"Surgery cannot be before randomization ({randomized_on}).",
    )
    assert not Operative.objects.exists()


@pytest.mark.django_db
def test_a_reoperation_before_surgery_is_refused_on_the_page(client, users, operated):
    client.force_login(users["coordinator"])
    response = client.post(
        entry_url(operated, "reoperation"),
        {
            **COMPLETE["reoperation"],
            "reoperation_date": days_ago(SURGERY_DAYS_AGO + 1),
            "save_draft": "1",
        },
    )
    surgery = (TODAY - datetime.timedelta(days=SURGERY_DAYS_AGO)).strftime("%d %b %Y")
    assert_refused_on_the_page(
        response,
        "reoperation_date",
        f"A reoperation cannot be before the index surgery ({surgery}).",
    )
    assert not FORMS["reoperation"].model.objects.exists()


@pytest.mark.django_db
def test_other_sites_forms_are_not_found_and_dsmb_is_refused(client, users, operated):
    urls = [
        reverse("crf:participant_forms", args=[operated.study_id]),
        entry_url(operated, "baseline"),
        reverse("crf:single_history", args=[operated.study_id, "operative"]),
        entry_url(operated, "adverse-event"),
        entry_url(operated, "follow-up"),
    ]
    client.force_login(users["coordinator2"])
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(urls[1], COMPLETE["baseline"]).status_code == 404
    client.force_login(users["dsmb"])
    for url in urls:
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_unknown_forms_and_visits_are_not_found(client, users, operated):
    client.force_login(users["coordinator"])
    base = f"/participants/{operated.study_id}/forms/"
    for path in (
        "no-such-form/",
        "follow-up/",  # a per-visit form needs its visit
        "follow-up/99w/",
        "adverse-event/",  # a repeatable form needs its id or new/
        "baseline/new/",
        "adverse-event/999999/",
        "operative/999/",
    ):
        assert client.get(base + path).status_code == 404, path


@pytest.mark.django_db
def test_hub_and_participant_page_show_timeline_forms_and_queries(
    client, users, operated
):
    client.force_login(users["coordinator"])
    for url in (
        reverse("crf:participant_forms", args=[operated.study_id]),
        reverse("participant_detail", args=[operated.study_id]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        assert 'data-visit="6w"' in content
        assert 'data-visit-state="due"' in content  # 6 weeks, today
        assert 'data-visit-state="overdue"' in content  # 2 weeks closed day 21
        assert 'data-form="operative"' in content
        assert 'data-form-status="complete"' in content
        assert 'id="add-adverse-event"' in content
        assert response.context["open_queries"] == 0


@pytest.mark.django_db
def test_participant_page_query_count_does_not_grow_with_forms(client, users, operated):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users["coordinator"])
    url = reverse("participant_detail", args=[operated.study_id])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for n in range(3):
        client.post(
            entry_url(operated, "adverse-event"),
            {"term": f"Event {n}", "save_draft": "1"},
        )
        client.post(
            entry_url(operated, "deviation"),
            {"description": f"Deviation {n}", "save_draft": "1"},
        )
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after) == len(before)
