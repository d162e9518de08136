"""POST /api/v1/participants/<study_id>/randomize/ and the allocation shown on
GET /api/v1/participants/<study_id>/: codes, bodies, roles, and no block data."""

import json

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from perform.models import ParticipantStatus
from randomization import services, tasks
from randomization.models import AllocationList, Slot
from tests.factories import UserFactory, api_client_for

ALLOCATION_KEYS = {
    "study_id",
    "arm",
    "stratum",
    "randomized_at",
    "randomized_by",
}
# The number within the stratum: statisticians only (PROTOCOL §5).
STATISTICIAN_ALLOCATION_KEYS = ALLOCATION_KEYS | {"sequence"}
NO_RANDOMIZE_PERMISSION = [
    "coordinator",
    "investigator",
    "datamanager",
    "statistician",
    "dsmb",
    "admin",
]


def randomize_url(study_id):
    return f"/api/v1/participants/{study_id}/randomize/"


def detail_url(study_id):
    return f"/api/v1/participants/{study_id}/"


@pytest.fixture
def api_as(users):
    """``api_as("randomizer")``: a client sending that user's API token."""

    def _api_as(username):
        return api_client_for(users[username])

    return _api_as


@pytest.fixture
def exhaustion_alerts(monkeypatch):
    """Record exhaustion alerts instead of queueing them on the broker."""
    sent = []
    monkeypatch.setattr(
        tasks.stratum_exhausted_alert, "delay", lambda **kwargs: sent.append(kwargs)
    )
    return sent


def allocated():
    return Slot.objects.filter(participant__isnull=False)


def assert_json(response):
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()


def assert_no_block_data(*responses):
    for response in responses:
        text = json.dumps(response.json()).lower()
        assert "block" not in text, text


# -----------------------------------------------------------------------------
# Randomizing
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_randomize_answers_201_then_200_with_the_same_body(
    api_as, site_a, active_list, consented
):
    participant = consented(site_a)
    client = api_as("randomizer")

    first = client.post(randomize_url(participant.study_id))  # no body at all
    assert first.status_code == 201, first.content
    body = assert_json(first)
    slot = Slot.objects.get(
        stratum__allocation_list=active_list, stratum__key="TOR|impending", sequence=1
    )
    assert set(body) == ALLOCATION_KEYS
    assert body["study_id"] == participant.study_id
    assert body["arm"] == slot.arm
    assert body["stratum"] == "TOR|impending"
    assert "sequence" not in body  # the randomizer is not a statistician
    assert body["randomized_by"] == "randomizer"

    again = client.post(randomize_url(participant.study_id), {}, format="json")
    assert again.status_code == 200, again.content
    assert assert_json(again) == body

    assert list(allocated()) == [slot]
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED
    assert_no_block_data(first, again)


@pytest.mark.django_db
def test_unconsented_participant_is_422_with_reasons_and_nothing_allocated(
    api_as, users, site_a, active_list, screen
):
    participant = screen(users["coordinator"], site_a)
    response = api_as("randomizer").post(
        randomize_url(participant.study_id), {}, format="json"
    )
    assert response.status_code == 422
    body = assert_json(response)
    assert set(body) == {"detail", "code", "reasons"}
    assert body["code"] == "not_randomizable"
    assert body["reasons"] == [
        "status is eligible, not consented",
        "no consent is recorded",
    ]
    assert body["detail"].startswith("This participant cannot be randomized")
    assert not allocated().exists()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE


@pytest.mark.django_db
def test_missing_fracture_status_is_422_naming_it(
    api_as, site_a, active_list, consented
):
    participant = consented(site_a, fracture_status="")
    response = api_as("randomizer").post(randomize_url(participant.study_id))
    assert response.status_code == 422
    body = assert_json(response)
    assert body["code"] == "not_randomizable"
    assert body["reasons"] == ["stratification data missing: Fracture status"]
    assert not allocated().exists()


@pytest.mark.django_db
def test_exhausted_stratum_is_409_naming_it_and_allocates_nothing(
    api_as, users, site_a, site_b, consented, exhaustion_alerts
):
    small = services.list_generate(
        actor=users["statistician"],
        name="Short list",
        seed=7,
        slots_per_stratum=2,
        sites=[site_a, site_b],
    )
    services.list_activate(actor=users["statistician"], allocation_list=small)
    # list_generate rounds up to whole blocks: count what the stratum really holds.
    slots = Slot.objects.filter(
        stratum__allocation_list=small, stratum__key="TOR|impending"
    ).count()
    assert slots >= 2
    client = api_as("randomizer")
    for _ in range(slots):
        taken = client.post(randomize_url(consented(site_a).study_id))
        assert taken.status_code == 201, taken.content

    last = consented(site_a)
    response = client.post(randomize_url(last.study_id))
    assert response.status_code == 409
    body = assert_json(response)
    assert body["code"] == "stratum_exhausted"
    assert body["stratum"] == "TOR|impending"
    assert "TOR|impending" in body["detail"]
    assert str(slots) not in body["detail"]
    assert allocated().count() == slots
    last.refresh_from_db()
    assert last.status == ParticipantStatus.CONSENTED
    assert not hasattr(last, "allocation")
    stratum = small.strata.get(key="TOR|impending")
    assert exhaustion_alerts == [{"stratum_id": stratum.pk, "study_id": last.study_id}]
    assert_no_block_data(response)


@pytest.mark.django_db
def test_no_active_list_is_409_randomization_closed(api_as, site_a, consented):
    participant = consented(site_a)
    assert not AllocationList.objects.exists()
    response = api_as("randomizer").post(randomize_url(participant.study_id))
    assert response.status_code == 409
    body = assert_json(response)
    assert body == {
        "detail": "Randomization is not open: no allocation list is active.",
        "code": "randomization_closed",
        "stratum": None,
    }
    assert not allocated().exists()


@pytest.mark.django_db
def test_stratum_missing_from_the_active_list_is_409_naming_it(
    api_as, users, site_a, site_b, consented
):
    toronto_only = services.list_generate(
        actor=users["statistician"],
        name="Toronto only",
        seed=11,
        slots_per_stratum=4,
        sites=[site_a],
    )
    services.list_activate(actor=users["statistician"], allocation_list=toronto_only)
    participant = consented(site_b)
    response = api_as("randomizer").post(randomize_url(participant.study_id))
    assert response.status_code == 409
    body = assert_json(response)
    assert body["code"] == "randomization_closed"
    assert body["stratum"] == "HAM|impending"
    assert not allocated().exists()


# -----------------------------------------------------------------------------
# Who may randomize
# -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("username", NO_RANDOMIZE_PERMISSION)
def test_role_without_randomize_permission_is_403_and_nothing_allocated(
    api_as, site_a, active_list, consented, username
):
    participant = consented(site_a)
    response = api_as(username).post(randomize_url(participant.study_id))
    assert response.status_code == 403
    assert assert_json(response) == {"detail": "You may not randomize participants."}
    assert not allocated().exists()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.CONSENTED


@pytest.mark.django_db
def test_randomize_capable_coordinator_gets_404_for_another_sites_participant(
    api_as, users, site_a, site_b, active_list, consented
):
    users["coordinator2"].user_permissions.add(
        Permission.objects.get(
            content_type__app_label="randomization", codename="randomize_participant"
        )
    )
    client = api_as("coordinator2")
    elsewhere = consented(site_a)
    response = client.post(randomize_url(elsewhere.study_id))
    assert response.status_code == 404
    assert assert_json(response) == {"detail": "Not found."}
    assert not allocated().exists()

    # The permission itself works: their own site's participant is randomized.
    own = client.post(randomize_url(consented(site_b).study_id))
    assert own.status_code == 201, own.content
    assert own.json()["stratum"] == "HAM|impending"


@pytest.mark.django_db
def test_unknown_study_id_is_404(api_as, active_list):
    response = api_as("randomizer").post(randomize_url("PRF-TOR-9999"))
    assert response.status_code == 404
    assert assert_json(response) == {"detail": "Not found."}


@pytest.mark.django_db
def test_anonymous_is_401_and_nothing_allocated(site_a, active_list, consented):
    participant = consented(site_a)
    response = APIClient().post(randomize_url(participant.study_id))
    assert response.status_code == 401
    assert assert_json(response) == {
        "detail": "Authentication credentials were not provided."
    }
    assert not allocated().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(api_as, site_a, active_list, consented, method):
    participant = consented(site_a)
    response = getattr(api_as("randomizer"), method)(
        randomize_url(participant.study_id)
    )
    assert response.status_code == 405
    assert "detail" in assert_json(response)
    assert not allocated().exists()


# -----------------------------------------------------------------------------
# The allocation on the participant detail
# -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "username", ["coordinator", "investigator", "randomizer", "datamanager"]
)
def test_participant_detail_shows_the_allocation_once_made(
    api_as, site_a, active_list, consented, username
):
    participant = consented(site_a)
    before = api_as(username).get(detail_url(participant.study_id))
    assert before.status_code == 200
    assert before.json()["allocation"] is None

    randomized = api_as("randomizer").post(randomize_url(participant.study_id))
    assert randomized.status_code == 201
    after = api_as(username).get(detail_url(participant.study_id))
    assert after.status_code == 200
    assert after.json()["allocation"] == randomized.json()
    assert_no_block_data(after)


@pytest.mark.django_db
def test_only_the_statistician_gets_the_number_within_the_stratum(
    api_as, site_a, active_list, consented
):
    first, second = consented(site_a), consented(site_a)
    randomizer = api_as("randomizer")
    randomizer.post(randomize_url(first.study_id))
    made = randomizer.post(randomize_url(second.study_id)).json()
    assert set(made) == ALLOCATION_KEYS

    body = api_as("statistician").get(detail_url(second.study_id)).json()
    assert set(body["allocation"]) == STATISTICIAN_ALLOCATION_KEYS
    assert body["allocation"]["sequence"] == 2
    assert body["allocation"] == {**made, "sequence": 2}
    for username in ["coordinator", "investigator", "randomizer", "datamanager"]:
        shown = api_as(username).get(detail_url(second.study_id)).json()
        assert shown["allocation"] == made, username


@pytest.mark.django_db
def test_participant_detail_allocation_is_null_without_view_allocation(
    users, site_a, active_list, consented
):
    participant = consented(site_a)
    services.participant_randomize(actor=users["randomizer"], participant=participant)
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="perform",
            codename__in=["view_participant", "view_all_sites"],
        )
    )
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.get(detail_url(participant.study_id))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "randomized"
    assert body["allocation"] is None


@pytest.mark.django_db
def test_no_api_answer_mentions_blocks(
    api_as, users, site_a, screen, consented, active_list
):
    waiting = consented(site_a)
    unconsented = screen(users["coordinator"], site_a)
    randomizer = api_as("randomizer")
    responses = [
        randomizer.post(randomize_url(waiting.study_id)),
        randomizer.post(randomize_url(waiting.study_id)),
        randomizer.post(randomize_url(unconsented.study_id)),
        randomizer.get(randomize_url(waiting.study_id)),
        api_as("coordinator").post(randomize_url(waiting.study_id)),
        api_as("coordinator2").post(randomize_url(waiting.study_id)),
    ]
    for username in ["coordinator", "investigator", "randomizer", "statistician"]:
        client = api_as(username)
        responses.append(client.get(detail_url(waiting.study_id)))
        responses.append(client.get("/api/v1/participants/"))
    assert [r.status_code for r in responses[:6]] == [201, 200, 422, 405, 403, 403]
    assert_no_block_data(*responses)


# -----------------------------------------------------------------------------
# OpenAPI schema
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_schema_describes_randomize_and_the_allocation(api_as):
    schema = api_as("randomizer").get("/api/v1/schema/").json()
    operation = schema["paths"]["/api/v1/participants/{study_id}/randomize/"]
    assert set(operation) - {"parameters"} == {"post"}
    post = operation["post"]
    assert "requestBody" not in post
    assert set(post["responses"]) == {
        "200",
        "201",
        "400",  # a NUL character in the query string (infrastructure.api.schema)
        "401",
        "403",
        "404",
        "409",
        "422",
    }
    components = schema["components"]["schemas"]
    allocation = components["AllocationOutput"]
    assert set(allocation["properties"]) == STATISTICIAN_ALLOCATION_KEYS
    # Absent for every role but the statistician: documented, not required.
    assert set(allocation["required"]) == ALLOCATION_KEYS
    assert "Statisticians only" in allocation["properties"]["sequence"]["description"]
    assert "allocation" in components["ParticipantOutput"]["properties"]
