"""JSON API v1: token login with lockout, site scope, screening, JSON errors."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from knox.crypto import hash_token
from rest_framework import exceptions
from rest_framework.test import APIClient

from perform.api import exception_handler
from perform.exceptions import InvalidTransition, NotEligible, SiteNotAllowed
from perform.models import ApiToken, Participant, ParticipantStatus
from tests.clock import today
from tests.conftest import eligible_answers
from tests.factories import api_client_for

TOKEN_URL = "/api/v1/auth/token/"
SITES_URL = "/api/v1/sites/"
PARTICIPANTS_URL = "/api/v1/participants/"
SCHEMA_URL = "/api/v1/schema/"


def detail_url(study_id):
    return f"{PARTICIPANTS_URL}{study_id}/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as(users):
    """``api_as("coordinator")``: a client sending that user's API token."""

    def _api_as(username):
        return api_client_for(users[username])

    return _api_as


def screening_payload(site_code="TOR", **overrides):
    payload = {
        "site": site_code,
        "screening_date": (today() - datetime.timedelta(days=1)).isoformat(),
        "age_at_screening": 70,
        "year_of_birth": None,
        "sex": "male",
        "fracture_status": "complete",
        "screening_notes": "",
        "answers": eligible_answers(),
    }
    payload.update(overrides)
    return payload


def assert_json(response):
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()


# -----------------------------------------------------------------------------
# Token login and django-axes lockout
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_token_obtained_with_good_credentials_authenticates_api_calls(
    api, users, password
):
    response = api.post(
        TOKEN_URL, {"username": "coordinator", "password": password}, format="json"
    )
    assert response.status_code == 200
    key = assert_json(response)["token"]
    [row] = ApiToken.objects.filter(user=users["coordinator"])
    assert row.digest == hash_token(key) and key not in row.digest

    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    sites = api.get(SITES_URL)
    assert sites.status_code == 200
    assert [s["code"] for s in sites.json()] == ["TOR"]


@pytest.mark.django_db
def test_token_refused_for_wrong_password_with_json_400(api, users):
    response = api.post(
        TOKEN_URL, {"username": "coordinator", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert assert_json(response) == {
        "non_field_errors": ["Unable to log in with provided credentials."]
    }
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_request_missing_password_names_the_field(api, users):
    response = api.post(TOKEN_URL, {"username": "coordinator"}, format="json")
    assert response.status_code == 400
    assert list(assert_json(response)) == ["password"]


@pytest.mark.django_db
def test_five_failures_lock_username_and_address_with_json_429(
    api, users, password, settings
):
    assert settings.AXES_FAILURE_LIMIT == 5
    bad = {"username": "coordinator", "password": "wrong"}
    for _ in range(4):
        assert api.post(TOKEN_URL, bad, format="json").status_code == 400

    fifth = api.post(TOKEN_URL, bad, format="json")
    assert fifth.status_code == 429
    body = assert_json(fifth)
    assert body["code"] == "locked_out"
    assert "too many login attempts" in body["detail"]
    assert int(fifth["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()

    good = {"username": "coordinator", "password": password}
    locked = api.post(TOKEN_URL, good, format="json")
    assert locked.status_code == 429
    assert assert_json(locked)["code"] == "locked_out"
    assert not ApiToken.objects.exists()

    # The lock is on username + address: the same user elsewhere still logs in.
    elsewhere = api.post(TOKEN_URL, good, format="json", REMOTE_ADDR="10.1.2.3")
    assert elsewhere.status_code == 200
    assert "token" in elsewhere.json()


@pytest.mark.django_db
def test_successful_token_login_resets_the_failure_count(api, users, password):
    bad = {"username": "coordinator", "password": "wrong"}
    for _ in range(4):
        assert api.post(TOKEN_URL, bad, format="json").status_code == 400
    good = {"username": "coordinator", "password": password}
    assert api.post(TOKEN_URL, good, format="json").status_code == 200
    for _ in range(4):
        assert api.post(TOKEN_URL, bad, format="json").status_code == 400
    users["coordinator"].refresh_from_db()
    assert users["coordinator"].last_login is not None


# -----------------------------------------------------------------------------
# Authentication required: 401 JSON, never a login redirect
# -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", SITES_URL),
        ("get", PARTICIPANTS_URL),
        ("post", PARTICIPANTS_URL),
        ("get", detail_url("PRF-TOR-0001")),
        ("get", SCHEMA_URL),
    ],
)
def test_anonymous_request_is_401_json_not_a_redirect(api, users, method, url):
    response = getattr(api, method)(url, format="json")
    assert response.status_code == 401
    assert assert_json(response) == {
        "detail": "Authentication credentials were not provided."
    }
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_html_accept_header_still_gets_json_not_406(api, api_as):
    # A 406 here would hide the role check behind content negotiation.
    anonymous = api.get(PARTICIPANTS_URL, HTTP_ACCEPT="text/html")
    assert anonymous.status_code == 401
    assert "detail" in assert_json(anonymous)
    dsmb = api_as("dsmb").get(PARTICIPANTS_URL, HTTP_ACCEPT="text/html")
    assert dsmb.status_code == 403
    sites = api_as("coordinator").get(SITES_URL, HTTP_ACCEPT="text/html")
    assert sites.status_code == 200
    assert [s["code"] for s in assert_json(sites)] == ["TOR"]


@pytest.mark.django_db
def test_unknown_token_is_401(api, users):
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get(PARTICIPANTS_URL)
    assert response.status_code == 401
    assert assert_json(response) == {"detail": "Invalid token."}


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["coordinator", None])
def test_unknown_api_url_is_json_404_not_html(api, api_as, username):
    client = api_as(username) if username else api
    response = client.post("/api/v1/nothing-here/", {}, format="json")
    assert response.status_code == 404
    assert assert_json(response) == {"detail": "Not found."}


# -----------------------------------------------------------------------------
# Sites
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_sites_list_is_scoped_to_the_caller(api_as):
    coordinator = api_as("coordinator").get(SITES_URL).json()
    assert coordinator == [
        {
            "code": "TOR",
            "name": "Toronto General",
            "country": "Canada",
            "time_zone": "America/Toronto",
            "activation_date": "2025-02-01",
            "target_enrolment": 20,
            "is_active": True,
        }
    ]
    assert [s["code"] for s in api_as("datamanager").get(SITES_URL).json()] == [
        "HAM",
        "TOR",
    ]
    dsmb = api_as("dsmb").get(SITES_URL)
    assert dsmb.status_code == 200
    assert dsmb.json() == []


# -----------------------------------------------------------------------------
# Participant list
# -----------------------------------------------------------------------------
@pytest.fixture
def two_sites_screened(users, site_a, site_b, screen):
    """PRF-TOR-0001 eligible, PRF-TOR-0002 ineligible, PRF-HAM-0001 eligible."""
    screen(users["coordinator"], site_a)
    screen(
        users["coordinator"],
        site_a,
        answers=eligible_answers() | {"primary_bone_sarcoma": True},
    )
    screen(users["coordinator2"], site_b)


@pytest.mark.django_db
def test_participant_list_is_scoped_per_site(api_as, two_sites_screened):
    coordinator = api_as("coordinator").get(PARTICIPANTS_URL)
    assert coordinator.status_code == 200
    body = coordinator.json()
    assert body["count"] == 2
    assert {p["study_id"] for p in body["results"]} == {"PRF-TOR-0001", "PRF-TOR-0002"}
    assert {p["site"] for p in body["results"]} == {"TOR"}

    manager = api_as("datamanager").get(PARTICIPANTS_URL).json()
    assert {p["study_id"] for p in manager["results"]} == {
        "PRF-TOR-0001",
        "PRF-TOR-0002",
        "PRF-HAM-0001",
    }


@pytest.mark.django_db
def test_participant_list_is_forbidden_without_view_permission(
    api_as, two_sites_screened
):
    response = api_as("dsmb").get(PARTICIPANTS_URL)
    assert response.status_code == 403
    assert assert_json(response) == {"detail": "You may not view participants."}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "ineligible"}, ["PRF-TOR-0002"]),
        ({"site": "ham"}, ["PRF-HAM-0001"]),
        ({"search": "0002"}, ["PRF-TOR-0002"]),
        ({"site": "TOR", "status": "eligible"}, ["PRF-TOR-0001"]),
    ],
)
def test_participant_list_filters(api_as, two_sites_screened, query, expected):
    response = api_as("datamanager").get(PARTICIPANTS_URL, query)
    assert response.status_code == 200
    assert [p["study_id"] for p in response.json()["results"]] == expected


@pytest.mark.django_db
def test_participant_list_site_filter_cannot_widen_the_scope(
    api_as, two_sites_screened
):
    response = api_as("coordinator").get(PARTICIPANTS_URL, {"site": "HAM"})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_participant_list_rejects_unknown_status(api_as, two_sites_screened):
    response = api_as("datamanager").get(PARTICIPANTS_URL, {"status": "happy"})
    assert response.status_code == 400
    assert list(assert_json(response)) == ["status"]


# -----------------------------------------------------------------------------
# Participant detail
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_participant_detail_shows_eligibility_and_history(api_as, two_sites_screened):
    response = api_as("coordinator").get(detail_url("PRF-TOR-0002"))
    assert response.status_code == 200
    body = response.json()
    assert body["study_id"] == "PRF-TOR-0002"
    assert body["site"] == "TOR"
    assert body["status"] == "ineligible"
    assert body["age_at_screening"] == 64
    assert body["eligibility"]["eligible"] is False
    assert body["eligibility"]["answers"]["primary_bone_sarcoma"] is True
    assert body["eligibility"]["unmet"] == ["Excluded: Primary bone sarcoma"]
    assert body["eligibility"]["missing"] == []
    assert body["consents"] == []
    history = [(h["from"], h["to"], h["by"]) for h in body["status_history"]]
    assert history == [
        ("", "screened", "coordinator"),
        ("screened", "ineligible", "coordinator"),
    ]
    assert body["status_history"][1]["reason"] == "Excluded: Primary bone sarcoma"
    assert body["allocation"] is None  # not randomized yet
    assert "arm" not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "study_id"),
    [
        ("coordinator", "PRF-HAM-0001"),  # another site's participant
        ("dsmb", "PRF-TOR-0001"),  # no participant access at all
        ("datamanager", "PRF-TOR-9999"),  # does not exist
    ],
)
def test_participant_detail_outside_scope_is_json_404(
    api_as, two_sites_screened, username, study_id
):
    response = api_as(username).get(detail_url(study_id))
    assert response.status_code == 404
    assert assert_json(response) == {"detail": "Not found."}


# -----------------------------------------------------------------------------
# Screening through the API
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_screening_issues_consecutive_study_ids_and_sets_status(api_as, users):
    client = api_as("coordinator")
    first = client.post(PARTICIPANTS_URL, screening_payload(), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["study_id"] == "PRF-TOR-0001"
    assert first.json()["status"] == "eligible"
    assert first.json()["eligibility"]["eligible"] is True
    assert first["Location"] == detail_url("PRF-TOR-0001")

    excluded = eligible_answers() | {"active_infection": True}
    second = client.post(
        PARTICIPANTS_URL, screening_payload(answers=excluded), format="json"
    )
    assert second.status_code == 201, second.content
    body = second.json()
    assert body["study_id"] == "PRF-TOR-0002"
    assert body["status"] == "ineligible"
    assert body["eligibility"]["unmet"] == [
        "Excluded: Active infection at the surgical site"
    ]

    saved = Participant.objects.get(study_id="PRF-TOR-0002")
    assert saved.status == ParticipantStatus.INELIGIBLE
    assert saved.created_by == users["coordinator"]
    assert saved.sex == "male"
    assert saved.fracture_status == "complete"


@pytest.mark.django_db
def test_screening_with_unanswered_criteria_stays_screened(api_as):
    answers = eligible_answers() | {"asa_3_or_less": None}
    del answers["survival_6_months"]
    response = api_as("coordinator").post(
        PARTICIPANTS_URL,
        screening_payload(answers=answers, year_of_birth=1956, fracture_status=""),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "screened"
    assert body["year_of_birth"] == 1956
    assert body["fracture_status"] == ""
    assert body["eligibility"]["eligible"] is None
    assert body["eligibility"]["answers"]["asa_3_or_less"] is None
    assert body["eligibility"]["answers"]["survival_6_months"] is None
    assert body["eligibility"]["missing"] == [
        "Expected survival of 6 months or more",
        "ASA class 3 or less",
    ]


def _tomorrow():
    return (today() + datetime.timedelta(days=1)).isoformat()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "answer_changes", "expected_errors"),
    [
        (
            {"screening_date": _tomorrow},
            {},
            {"screening_date": ["The date cannot be in the future."]},
        ),
        (
            {"screening_date": "31/12/2024"},
            {},
            {"screening_date": ["Enter a valid date (YYYY-MM-DD)."]},
        ),
        (
            {"age_at_screening": 200},
            {},
            {"age_at_screening": ["Ensure this value is less than or equal to 120."]},
        ),
        (
            {"age_at_screening": -1},
            {},
            {"age_at_screening": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"sex": "robot"}, {}, {"sex": ["Choose one of: female, male, other."]}),
        (
            {"fracture_status": "partial"},
            {},
            {"fracture_status": ["Choose one of: impending, complete."]},
        ),
        (
            {},
            {"bogus_code": True},
            {"answers": {"bogus_code": ["Unknown eligibility criterion."]}},
        ),
        (
            {},
            {"asa_3_or_less": "yes"},
            {
                "answers": {
                    "asa_3_or_less": [
                        "Answer yes (true), no (false) or not yet known (null)."
                    ]
                }
            },
        ),
        (
            {"age_at_screening": 16},
            {},
            {
                "answers": {
                    "age_adult": [
                        "The age entered is 16: this criterion cannot be met."
                    ]
                }
            },
        ),
        (
            {"year_of_birth": 1900},
            {},
            {"year_of_birth": ["Year of birth 1900 gives age"]},
        ),
        (
            {"year_of_birth": 2999},
            {},
            {"year_of_birth": ["Year of birth is after the screening date."]},
        ),
        ({"site": "HAM"}, {}, {"site": ["You cannot screen patients at site HAM."]}),
        ({"site": "ZZZ"}, {}, {"site": ["You cannot screen patients at site ZZZ."]}),
    ],
)
def test_invalid_screening_is_400_naming_the_field_and_saves_nothing(
    api_as, site_a, site_b, overrides, answer_changes, expected_errors
):
    overrides = {k: v() if callable(v) else v for k, v in overrides.items()}
    payload = screening_payload(
        answers=eligible_answers() | answer_changes, **overrides
    )
    response = api_as("coordinator").post(PARTICIPANTS_URL, payload, format="json")
    assert response.status_code == 400
    body = assert_json(response)
    assert set(body) == set(expected_errors)
    for field, expected in expected_errors.items():
        if isinstance(expected, dict):
            assert body[field] == expected
        else:
            assert body[field][0].startswith(expected[0]), body
    assert Participant.objects.count() == 0
    site_a.refresh_from_db()
    assert site_a.last_participant_number == 0


@pytest.mark.django_db
def test_screening_missing_fields_are_each_named(api_as, site_a):
    response = api_as("coordinator").post(PARTICIPANTS_URL, {}, format="json")
    assert response.status_code == 400
    body = assert_json(response)
    assert set(body) == {"site", "screening_date", "age_at_screening", "sex", "answers"}
    assert body["sex"] == ["This field is required."]
    assert Participant.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400_json_and_saves_nothing(api_as, site_a):
    response = api_as("coordinator").post(
        PARTICIPANTS_URL, '{"site": "TOR", ', content_type="application/json"
    )
    assert response.status_code == 400
    assert assert_json(response)["detail"].startswith("JSON parse error")
    assert Participant.objects.count() == 0


@pytest.mark.django_db
def test_screening_at_an_inactive_site_is_refused(api_as, site_a):
    site_a.is_active = False
    site_a.save()
    response = api_as("coordinator").post(
        PARTICIPANTS_URL, screening_payload(), format="json"
    )
    assert response.status_code == 400
    assert list(assert_json(response)) == ["site"]
    assert Participant.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["dsmb", "datamanager", "statistician"])
def test_screening_without_screen_permission_is_403(api_as, site_a, username):
    response = api_as(username).post(
        PARTICIPANTS_URL, screening_payload(), format="json"
    )
    assert response.status_code == 403
    assert assert_json(response) == {"detail": "You may not screen participants."}
    assert Participant.objects.count() == 0


# -----------------------------------------------------------------------------
# OpenAPI schema
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_schema_is_an_openapi_3_document_with_every_path(api_as):
    response = api_as("dsmb").get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/auth/token/",
        "/api/v1/sites/",
        "/api/v1/participants/",
        "/api/v1/participants/{study_id}/",
    } <= set(schema["paths"])
    screen_op = schema["paths"]["/api/v1/participants/"]["post"]
    assert {"201", "400", "401", "403"} <= set(screen_op["responses"])


# -----------------------------------------------------------------------------
# Exception handler: domain errors become JSON
# -----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            InvalidTransition("PRF-TOR-0001 is withdrawn and cannot become consented."),
            409,
            {
                "detail": "PRF-TOR-0001 is withdrawn and cannot become consented.",
                "code": "invalid_transition",
            },
        ),
        (
            SiteNotAllowed("You cannot screen patients at site HAM.", field="site"),
            400,
            {"site": ["You cannot screen patients at site HAM."]},
        ),
        (
            NotEligible("Not eligible."),
            400,
            {"non_field_errors": ["Not eligible."]},
        ),
        (
            PermissionDenied("You may not change screening or consent records."),
            403,
            {"detail": "You may not change screening or consent records."},
        ),
        (
            Http404("No Participant matches the given query."),
            404,
            {"detail": "Not found."},
        ),
        (
            exceptions.ValidationError("Something is off."),
            400,
            {"non_field_errors": ["Something is off."]},
        ),
        (
            RuntimeError("boom"),
            500,
            {"detail": "A server error occurred.", "code": "server_error"},
        ),
    ],
)
def test_exception_handler_maps_errors_to_json(exc, status, body):
    response = exception_handler(exc, {"view": None})
    assert response.status_code == status
    assert response.data == body
