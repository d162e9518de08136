"""Clinical forms exist only for randomized participants (PROTOCOL §7): the
rule (``crf.forms.rules.form_allowed_for``) for every status and form, and the
refusal through the service, the web pages, the API and the forms hub, with
nothing written; the same requests succeed for a randomized participant."""

import datetime

import pytest
from django.urls import reverse

from crf.exceptions import FormNotAllowed
from crf.forms import services
from crf.forms.registry import FORMS, PER_VISIT, form_url
from crf.forms.rules import form_allowed_for, form_not_allowed_message
from crf.models import Operative, SafetyAlert
from perform import services as core
from perform.models import Participant, ParticipantStatus
from tests.clock import today
from tests.conftest import eligible_answers
from tests.crf.bulk import form_kwargs
from tests.factories import api_client_for

# PROTOCOL §7, "operative onwards", less the protocol deviation (from consent).
CLINICAL = [
    "operative",
    "discharge",
    "follow-up",
    "adverse-event",
    "reoperation",
    "local-recurrence",
    "death",
    "withdrawal",
]
NOT_RANDOMIZED = ["ineligible", "eligible", "consented", "declined"]
RANDOMIZED_OR_LATER = [
    "randomized",
    "withdrawn",
    "lost_to_follow_up",
    "died",
    "completed",
]
VISIT = "2w"


def clinical_message(participant) -> str:
    return (
        "Clinical forms can be entered only after randomization: "
        f"{participant.study_id} is {participant.get_status_display().lower()}."
    )


def refused_keys(status: str) -> list[str]:
    """The forms a participant of ``status`` may not have (deviation from
    consent on)."""
    return CLINICAL + ([] if status == "consented" else ["deviation"])


def refusal(key, participant) -> str:
    if key == "deviation":
        return (
            "Protocol deviation forms can be entered only after consent: "
            f"{participant.study_id} is {participant.get_status_display().lower()}."
        )
    return clinical_message(participant)


def entry_url(participant, key) -> str:
    """The page that enters a new ``key`` form (the 2-week visit's for a
    follow-up)."""
    return form_url(participant.study_id, FORMS[key], visit=VISIT)


def api_body(key) -> dict:
    """An empty draft: what any participant's form may start as."""
    return {"visit": VISIT, "fields": {}} if FORMS[key].kind == PER_VISIT else {}


def stored(key, participant):
    return FORMS[key].model.objects.filter(participant=participant)


@pytest.fixture
def participant_in(users, site_a, screen):
    """``participant_in(status)``: a site A participant brought to ``status``
    (ineligible, eligible, consented or declined) through the services."""
    coordinator = users["coordinator"]

    def _participant_in(status):
        if status == "ineligible":
            answers = {**eligible_answers(), "survival_6_months": False}
            participant = screen(coordinator, site_a, answers=answers)
        else:
            participant = screen(coordinator, site_a)
        decision = {
            "actor": coordinator,
            "participant": participant,
            "decision_date": today(),
            "obtained_by": "Dr A",
        }
        if status == "consented":
            core.participant_consent_record(**decision, form_version="v1")
        elif status == "declined":
            core.participant_decline_record(**decision, reason="Prefers nailing.")
        participant.refresh_from_db()
        assert participant.status == status
        return participant

    return _participant_in


@pytest.fixture
def api(users):
    return api_client_for(users["coordinator"])


# ---------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", ParticipantStatus.values)
def test_which_forms_each_lifecycle_status_allows(status):
    participant = Participant(study_id="PRF-TOR-0005", status=status)
    allowed = {
        key for key, spec in FORMS.items() if form_allowed_for(spec, participant)
    }
    expected = {"baseline"}
    if status in RANDOMIZED_OR_LATER:
        expected |= set(CLINICAL) | {"deviation"}
    elif status == "consented":
        expected |= {"deviation"}
    assert allowed == expected
    assert set(FORMS) == set(CLINICAL) | {"baseline", "deviation"}


def test_the_refusal_names_the_participant_and_their_status():
    ineligible = Participant(study_id="PRF-TOR-0005", status="ineligible")
    assert form_not_allowed_message(FORMS["operative"], ineligible) == (
        "Clinical forms can be entered only after randomization: "
        "PRF-TOR-0005 is ineligible."
    )
    eligible = Participant(study_id="PRF-TOR-0006", status="eligible")
    assert form_not_allowed_message(FORMS["deviation"], eligible) == (
        "Protocol deviation forms can be entered only after consent: "
        "PRF-TOR-0006 is eligible."
    )


# ---------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("status", NOT_RANDOMIZED)
def test_the_service_refuses_clinical_forms_before_randomization(
    users, participant_in, randomized, status
):
    participant = participant_in(status)
    for key in refused_keys(status):
        spec = FORMS[key]
        extra = {"visit": VISIT} if spec.kind == PER_VISIT else {}
        with pytest.raises(FormNotAllowed) as error:
            services.form_save(
                actor=users["coordinator"],
                form=spec.model(participant=participant, **extra),
                complete=False,
            )
        assert error.value.message == refusal(key, participant), key
        assert not stored(key, participant).exists(), key
        services.form_save(
            actor=users["coordinator"],
            form=spec.model(participant=randomized, **extra),
            complete=False,
        )
        assert stored(key, randomized).count() == 1, key
    assert not SafetyAlert.objects.filter(participant=participant).exists()


@pytest.mark.django_db
def test_baseline_is_allowed_before_randomization_and_deviation_from_consent(
    users, participant_in
):
    for status in NOT_RANDOMIZED:
        participant = participant_in(status)
        services.form_save(
            actor=users["coordinator"],
            form=FORMS["baseline"].model(participant=participant, ecog=1),
            complete=False,
        )
        assert stored("baseline", participant).count() == 1
    consented = participant_in("consented")
    services.form_save(
        actor=users["coordinator"],
        form=FORMS["deviation"].model(participant=consented, category="consent"),
        complete=False,
    )
    assert stored("deviation", consented).count() == 1


# ---------------------------------------------------------------------------
# The web pages
# ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("status", NOT_RANDOMIZED)
def test_the_web_refuses_clinical_forms_before_randomization(
    client, users, participant_in, randomized, status
):
    """The page of a form the participant may not have says why and offers
    nothing to fill in; a post saves nothing. The same post is saved for a
    randomized participant."""
    participant = participant_in(status)
    client.force_login(users["coordinator"])
    for key in refused_keys(status):
        url = entry_url(participant, key)
        page = client.get(url)
        assert page.status_code == 200, key
        html = page.content.decode()
        assert refusal(key, participant) in html, key
        assert f'id="crf-{key}"' not in html, key  # no entry form
        response = client.post(url, {"save_draft": "1"})
        assert response.status_code == 200, key
        assert refusal(key, participant) in response.content.decode(), key
        assert not stored(key, participant).exists(), key

        accepted = client.post(entry_url(randomized, key), {"save_draft": "1"})
        assert accepted.status_code == 302, key
        assert stored(key, randomized).count() == 1, key


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("status", NOT_RANDOMIZED)
def test_the_api_refuses_clinical_forms_before_randomization_with_409(
    api, participant_in, randomized, status
):
    participant = participant_in(status)
    for key in refused_keys(status):
        response = api.post(
            f"/api/v1/participants/{participant.study_id}/forms/{key}/",
            api_body(key),
            format="json",
        )
        assert response.status_code == 409, (key, response.json())
        assert response.json() == {
            "detail": refusal(key, participant),
            "code": "form_not_allowed",
        }
        assert not stored(key, participant).exists(), key

        accepted = api.post(
            f"/api/v1/participants/{randomized.study_id}/forms/{key}/",
            api_body(key),
            format="json",
        )
        assert accepted.status_code == 201, (key, accepted.json())
        assert stored(key, randomized).count() == 1, key


# ---------------------------------------------------------------------------
# The forms hub
# ---------------------------------------------------------------------------
def offers(html: str, participant, key) -> bool:
    """Whether the hub links to entering ``key`` for ``participant``."""
    return f'href="{form_url(participant.study_id, FORMS[key])}"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("status", NOT_RANDOMIZED)
def test_the_forms_hub_does_not_offer_clinical_forms_before_randomization(
    client, users, participant_in, randomized, status
):
    participant = participant_in(status)
    client.force_login(users["coordinator"])
    refused = [key for key in refused_keys(status) if key != "follow-up"]
    for page in ("crf:participant_forms", "participant_detail"):
        html = client.get(reverse(page, args=[participant.study_id])).content.decode()
        assert clinical_message(participant) in html, page
        assert offers(html, participant, "baseline"), page
        for key in refused:
            assert not offers(html, participant, key), (page, key)
        assert offers(html, participant, "deviation") == (status == "consented")

        html = client.get(reverse(page, args=[randomized.study_id])).content.decode()
        assert 'id="forms-not-allowed"' not in html, page
        for key in refused:
            assert offers(html, randomized, key), (page, key)


# ---------------------------------------------------------------------------
# A clinical form entered before the rule existed
# ---------------------------------------------------------------------------
@pytest.fixture
def earlier_operative(users, participant_in):
    """An operative form of an ineligible participant, written before the
    rule (inserted directly): surgery 20 days ago, so visits are scheduled."""
    participant = participant_in("ineligible")
    surgery = today() - datetime.timedelta(days=20)
    return Operative.objects.create(
        **form_kwargs(
            participant,
            users["coordinator"],
            status="draft",
            surgery_date=surgery,
            procedure="IF",
            duration_min=95,
        )
    )


@pytest.mark.django_db
def test_a_clinical_form_entered_earlier_stays_visible_and_cannot_be_changed(
    client, users, api, earlier_operative
):
    participant = earlier_operative.participant
    message = clinical_message(participant)
    client.force_login(users["coordinator"])

    hub = client.get(reverse("crf:participant_forms", args=[participant.study_id]))
    html = hub.content.decode()
    assert 'data-form="operative"' in html  # still listed, with its link
    assert offers(html, participant, "operative")
    assert 'id="visit-timeline"' in html
    follow_up = reverse("crf:visit_edit", args=[participant.study_id, VISIT])
    assert follow_up not in html  # no follow-up offered from the timeline

    url = form_url(participant.study_id, FORMS["operative"])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert message in html and 'id="read-only-form"' in html
    assert 'id="crf-operative"' not in html
    response = client.post(url, {"duration_min": "120", "save_draft": "1"})
    assert response.status_code == 200 and message in response.content.decode()

    response = api.put(
        f"/api/v1/participants/{participant.study_id}/forms/operative/"
        f"{earlier_operative.pk}/",
        {"fields": {"duration_min": 120}},
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {"detail": message, "code": "form_not_allowed"}
    earlier_operative.refresh_from_db()
    assert earlier_operative.duration_min == 95
    assert earlier_operative.version == 1

    listed = api.get(f"/api/v1/participants/{participant.study_id}/forms/").json()
    assert [(form["key"], form["id"]) for form in listed] == [
        ("operative", earlier_operative.pk)
    ]
