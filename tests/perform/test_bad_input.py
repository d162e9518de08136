"""Bad input is answered with a 4xx and a clear message, never a server error.

One test per kind of bad input: over-long usernames, NUL characters, bodies
over the upload limit, deeply nested JSON, over-long CSV fields, a missing
static files manifest, clinical dates outside the trial, and numbers too large
for their database columns. The autouse ``no_server_errors`` fixture fails any
of them that makes a request raise; each also asserts the status and message.
"""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.checks import run_checks
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from crf.forms.registry import FORMS, PER_VISIT, form_url
from crf.forms.rules import DATE_FIELDS
from infrastructure.api.common import exception_handler
from perform.exceptions import TrialError
from perform.models import ApiToken, Participant, ParticipantStatus
from randomization.models import AllocationList, Slot
from tests.clock import today
from tests.factories import api_client_for, login_post_data
from tests.perform.test_views import screening_post
from tests.production import production_python

TOKEN_URL = "/api/v1/auth/token/"
PARTICIPANTS_URL = "/api/v1/participants/"
TOO_LONG_USERNAME = "u" * 300
TRIAL_START = "01 Feb 2025"
BEFORE_TRIAL = f"The date cannot be before the start of the trial ({TRIAL_START})."
IN_FUTURE = "The date cannot be in the future."


@pytest.fixture
def api_as(users):
    """``api_as("coordinator")``: a client sending that user's API token."""

    def _api_as(username):
        return api_client_for(users[username])

    return _api_as


def json_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()


def screening_payload(**overrides) -> dict:
    payload = {
        "site": "TOR",
        "screening_date": (today() - datetime.timedelta(days=1)).isoformat(),
        "age_at_screening": 70,
        "sex": "male",
        "fracture_status": "complete",
        "answers": {},
    }
    return payload | overrides


# -----------------------------------------------------------------------------
# 1. Usernames longer than any account (django-axes stores at most 255)
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_username_over_255_characters_is_a_form_error_and_records_nothing(
    client, users, password
):
    assert settings.DEBUG is False
    response = client.post(
        reverse("login"), login_post_data(TOO_LONG_USERNAME, password)
    )
    assert response.status_code == 200
    assert "at most 150 characters (it has 300)" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()

    api = APIClient()
    response = api.post(
        TOKEN_URL, {"username": TOO_LONG_USERNAME, "password": password}, format="json"
    )
    assert response.status_code == 400
    assert json_of(response) == {
        "username": ["Ensure this field has no more than 150 characters."]
    }
    assert not ApiToken.objects.exists()

    # Anything else that reaches django-axes with such a name (a future form
    # without the check): axes stores the username cut to what its column
    # holds, and the login fails as any other would.
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.1")
    assert authenticate(request, username=TOO_LONG_USERNAME, password="x") is None
    attempt = AccessAttempt.objects.get()
    assert attempt.username == TOO_LONG_USERNAME[:255]


# -----------------------------------------------------------------------------
# 2. NUL characters (PostgreSQL text cannot hold them)
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_nul_character_is_a_404_in_a_path_and_a_400_elsewhere(
    client, users, site_a, screen, api_as
):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    api = api_as("coordinator")

    response = client.get(f"/participants/{participant.study_id}%00/")
    assert response.status_code == 404
    assert b'id="error-404"' in response.content
    response = api.get(f"{PARTICIPANTS_URL}{participant.study_id}%00/")
    assert response.status_code == 404
    assert json_of(response) == {"detail": "Not found.", "code": "not_found"}

    response = client.get("/screening/log/?site=%00")
    assert response.status_code == 400
    assert "The query string contains a NUL character." in response.content.decode()
    response = api.get(f"{PARTICIPANTS_URL}?search=a%00")
    assert response.status_code == 400
    assert json_of(response) == {
        "detail": "The query string contains a NUL character.",
        "code": "nul_character",
    }

    # Headers: the token a client sends, a browser's User-Agent (django-axes
    # stores it with every failed login).
    response = APIClient().get(PARTICIPANTS_URL, HTTP_AUTHORIZATION="Token a\x00b")
    assert response.status_code == 400
    assert json_of(response)["code"] == "nul_character"
    response = client.post(
        reverse("login"),
        login_post_data("coordinator", "wrong"),
        HTTP_USER_AGENT="Mozilla\x00",
    )
    assert response.status_code == 400
    assert not AccessAttempt.objects.exists()

    # In a form field or a JSON string the field itself refuses it.
    response = client.post(
        reverse("participant_screen"),
        screening_post(site_a, screening_notes="a\x00b"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["screening_notes"] == [
        "Null characters are not allowed."
    ]
    response = api.post(
        PARTICIPANTS_URL, screening_payload(screening_notes="a\x00b"), format="json"
    )
    assert response.status_code == 400
    assert json_of(response) == {
        "screening_notes": ["Null characters are not allowed."]
    }
    assert Participant.objects.count() == 1


# -----------------------------------------------------------------------------
# 3. Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE
# -----------------------------------------------------------------------------
FIVE_MB = "x" * (5 * 1024 * 1024)


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_413_before_it_is_read(
    client, users, site_a, api_as
):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("participant_screen"), screening_post(site_a, screening_notes=FIVE_MB)
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert 'id="error-413"' in page
    assert "larger than the 2.5\xa0MB the platform accepts" in page
    assert response["Content-Security-Policy"]

    response = api_as("coordinator").post(
        PARTICIPANTS_URL, screening_payload(screening_notes=FIVE_MB), format="json"
    )
    assert response.status_code == 413
    body = json_of(response)
    assert body["code"] == "request_too_large"
    assert "larger than the 2.5\xa0MB the platform accepts" in body["detail"]
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_a_body_found_too_large_only_when_read_is_a_413_too(
    client, users, site_a, api_as
):
    """Without the early check (a body with no declared length, another
    server), Django raises RequestDataTooBig when the view reads the body."""
    early = "infrastructure.middleware.RequestGuardMiddleware"
    assert early in settings.MIDDLEWARE
    client.force_login(users["coordinator"])
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != early]):
        response = client.post(
            reverse("participant_screen"),
            screening_post(site_a, screening_notes=FIVE_MB),
        )
        assert response.status_code == 413
        assert 'id="error-413"' in response.content.decode()
        response = api_as("coordinator").post(
            PARTICIPANTS_URL, screening_payload(screening_notes=FIVE_MB), format="json"
        )
        assert response.status_code == 413
        assert json_of(response)["code"] == "request_too_large"
    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413
    assert not Participant.objects.exists()


# -----------------------------------------------------------------------------
# 4. Deeply nested JSON
# -----------------------------------------------------------------------------
def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [33, 50_000], ids=["over-the-limit", "50000-deep"])
def test_json_nested_too_deep_is_a_400_for_every_api_post(
    api_as,
    randomized,
    depth,
):
    study_id = randomized.study_id
    urls = [
        PARTICIPANTS_URL,
        f"{PARTICIPANTS_URL}{study_id}/forms/adverse-event/",
    ]
    for client, url in [(APIClient(), TOKEN_URL)] + [
        (api_as("coordinator"), url) for url in urls
    ]:
        body = '{"fields": {"term": ' + nested(depth) + "}}"
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, url
        assert json_of(response) == {
            "detail": "JSON parse error - malformed or too deeply nested JSON "
            "(at most 32 levels).",
            "code": "parse_error",
        }, url
    # Nesting within the limit is parsed (and refused for what it says).
    response = api_as("coordinator").post(
        PARTICIPANTS_URL,
        '{"answers": ' + nested(30) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "answers" in json_of(response)


# -----------------------------------------------------------------------------
# 5. Over-long fields: CSV import and API strings
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_csv_field_over_the_csv_limit_is_a_row_numbered_form_error(
    client, users, site_a, api_as
):
    client.force_login(users["statistician"])
    text = (
        "stratum,sequence,arm,block\n"
        "TOR|impending,1,IF,1\n"
        f"TOR|impending,2,{'R' * 131_073},1\n"
    )
    response = client.post(
        reverse("randomization:list_import"),
        {"name": "External", "file": SimpleUploadedFile("list.csv", text.encode())},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Row 3: a field is longer than 131,072 characters."
    ]
    assert not AllocationList.objects.exists()

    # API strings longer than their column are field errors.
    api = api_as("coordinator")
    long_text = "x" * 200_000
    response = api.post(
        PARTICIPANTS_URL, screening_payload(site=long_text), format="json"
    )
    assert response.status_code == 400
    assert json_of(response)["site"] == [
        "Ensure this field has no more than 3 characters."
    ]
    response = api.get(PARTICIPANTS_URL, {"search": long_text})
    assert response.status_code == 400
    assert "search" in json_of(response)


# -----------------------------------------------------------------------------
# 6. A missing static files manifest is a start-up error, not a 500 per page
# -----------------------------------------------------------------------------
MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}


def manifest_errors():
    return [
        e for e in run_checks(tags=["infrastructure"]) if e.id == "infrastructure.E001"
    ]


def test_a_missing_static_manifest_fails_the_system_check_until_collectstatic(
    tmp_path,
):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=MANIFEST_STORAGES):
        (error,) = manifest_errors()
        assert str(tmp_path / "staticfiles.json") in error.msg
        assert "collectstatic" in error.hint

        call_command("collectstatic", interactive=False, verbosity=0)
        assert manifest_errors() == []
    # The test settings' plain storage needs no manifest.
    assert manifest_errors() == []


def test_the_wsgi_application_refuses_to_start_without_the_manifest(
    tmp_path, collected_static
):
    empty = tmp_path / "static"
    empty.mkdir()
    refused = production_python("-c", "import config.wsgi", STATIC_ROOT=str(empty))
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert f"{empty / 'staticfiles.json'} is missing" in refused.stderr

    started = production_python(
        "-c", "import config.wsgi; print('ready')", STATIC_ROOT=str(collected_static)
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "ready"


# -----------------------------------------------------------------------------
# 7. Clinical dates before the trial (or after today)
# -----------------------------------------------------------------------------
EXTREMES = {"0001-01-01": BEFORE_TRIAL, "9999-12-31": IN_FUTURE}
CRF_DATES = [
    (key, name) for key, spec in FORMS.items() for name in DATE_FIELDS[spec.model]
]


def _crf_web_url(study_id, key):
    spec = FORMS[key]
    return form_url(study_id, spec, visit="2w" if spec.kind == PER_VISIT else None)


@pytest.mark.django_db
def test_screening_and_consent_dates_are_refused_before_the_trial_or_in_future(
    client, users, site_a, screen, api_as
):
    client.force_login(users["coordinator"])
    eligible = screen(users["coordinator"], site_a)
    for value, message in EXTREMES.items():
        response = client.post(
            reverse("participant_screen"), screening_post(site_a, screening_date=value)
        )
        assert response.status_code == 200, value
        assert response.context["form"].errors["screening_date"] == [message]

        response = api_as("coordinator").post(
            PARTICIPANTS_URL, screening_payload(screening_date=value), format="json"
        )
        assert response.status_code == 400, value
        assert json_of(response) == {"screening_date": [message]}

        for page in ("participant_consent", "participant_decline"):
            response = client.post(
                reverse(page, args=[eligible.study_id]),
                {"decision_date": value, "form_version": "v1", "obtained_by": "Dr A"},
            )
            assert response.status_code == 200, (page, value)
            assert response.context["form"].errors["decision_date"] == [message]
    assert Participant.objects.get().status == ParticipantStatus.ELIGIBLE
    # The services refuse them too (the demo and any other caller).
    with pytest.raises(TrialError, match=r"start of the trial \(01 Feb 2025\)"):
        screen(users["coordinator"], site_a, screening_date=datetime.date(1, 1, 1))


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "name"), CRF_DATES)
def test_crf_dates_are_refused_before_the_trial_or_in_future(
    client,
    users,
    api_as,
    randomized,
    key,
    name,
):
    client.force_login(users["coordinator"])
    model = FORMS[key].model
    # A date shown only under a condition (branching) is posted with it.
    condition = FORMS[key].branching.get(name)
    applies = {condition.field: condition.values[0]} if condition else {}
    for value, message in EXTREMES.items():
        response = client.post(
            _crf_web_url(randomized.study_id, key),
            {**applies, name: value, "save_draft": "1"},
        )
        assert response.status_code == 200, value
        assert response.context["form"].errors[name][0] == message

        body = {"fields": {**applies, name: value}}
        if FORMS[key].kind == PER_VISIT:
            body["visit"] = "2w"
        response = api_as("coordinator").post(
            f"{PARTICIPANTS_URL}{randomized.study_id}/forms/{key}/", body, format="json"
        )
        assert response.status_code == 400, value
        assert json_of(response)["fields"][name][0] == message
    assert not model.objects.exists()


def test_dates_of_medical_history_may_precede_the_trial_back_to_1900():
    """PROTOCOL §7: the date of primary cancer diagnosis (and of previous
    treatments) may be before the trial; only year 1900 bounds it."""
    from perform.clinical_dates import clinical_date_error

    today = datetime.date(2026, 6, 1)
    before_trial = datetime.date(2019, 3, 1)
    assert clinical_date_error(before_trial, today=today) == BEFORE_TRIAL
    assert clinical_date_error(before_trial, today=today, history=True) is None
    assert (
        clinical_date_error(datetime.date(1899, 12, 31), today=today, history=True)
        == "The date cannot be before 1900."
    )
    assert (
        clinical_date_error(datetime.date(2026, 6, 2), today=today, history=True)
        == IN_FUTURE
    )
    assert clinical_date_error(datetime.date(2025, 2, 1), today=today) is None


# -----------------------------------------------------------------------------
# Found on the way: numbers too large for their column
# -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_page_number_beyond_any_offset_shows_the_last_page(client, users):
    client.force_login(users["coordinator"])
    response = client.get(reverse("dashboards:site"), {"page": "9" * 20})
    assert response.status_code == 200
    assert response.context["page"].number == 1


@pytest.mark.django_db
def test_allocation_numbers_too_large_to_store_are_form_errors(client, users, site_a):
    client.force_login(users["statistician"])
    response = client.post(
        reverse("randomization:list_generate"),
        {
            "name": "Huge blocks",
            "seed": "1",
            "arms": "IF: Internal fixation\nRER: Resection",
            "ratio": "1:1",
            "block_sizes": "40000",
            "factors": ["site"],
            "slots_per_stratum": "4",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Block sizes cannot be larger than 32767."
    ]

    text = "stratum,sequence,arm,block\nTOR|impending,1,IF,99999999999\n"
    text += "TOR|impending,2,RER,99999999999\n"
    response = client.post(
        reverse("randomization:list_import"),
        {"name": "External", "file": SimpleUploadedFile("list.csv", text.encode())},
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors[0] == "Row 2: block 99999999999 is larger than 2147483647."
    assert not AllocationList.objects.exists()
    assert not Slot.objects.exists()
