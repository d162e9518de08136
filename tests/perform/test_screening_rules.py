"""Screening input: the web form and the API apply one set of rules
(``perform.screening``) and say the same thing, field by field.

Each case is fed to both channels, written as each writes it (the form posts
strings, "yes"/"no"/"" for answers, a site's code; the API sends JSON), and
the errors are compared after naming answers alike (the form's
``criterion_<code>`` field and the API's ``answers.<code>``).
"""

import datetime

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from perform import screening
from perform.exceptions import SiteNotAllowed, TrialError
from perform.models import Participant
from tests.clock import today
from tests.conftest import eligible_answers
from tests.factories import api_client_for

PARTICIPANTS_URL = "/api/v1/participants/"
MISSING = object()  # the field is not sent at all (the form sends it empty)
REQUIRED = ["This field is required."]
BEFORE_TRIAL = ["The date cannot be before the start of the trial (01 Feb 2025)."]
IN_FUTURE = ["The date cannot be in the future."]
NUL = ["Null characters are not allowed."]
ANSWER_INVALID = ["Answer yes (true), no (false) or not yet known (null)."]
WEB_ANSWER = {True: "yes", False: "no", None: ""}


def _days_from_today(days: int) -> str:
    return (today() + datetime.timedelta(days=days)).isoformat()


def _valid_input() -> dict:
    return {
        "site": "TOR",
        "screening_date": _days_from_today(-1),
        "age_at_screening": 70,
        "sex": "male",
        "fracture_status": "complete",
        "screening_notes": "",
        "answers": eligible_answers(),
    }


def _case_input(changes: dict, answer_changes: dict) -> dict:
    data = _valid_input()
    for name, value in changes.items():
        data[name] = value() if callable(value) else value
    data["answers"] = data["answers"] | answer_changes
    return data


def _web_post(data: dict) -> dict:
    post = {}
    for name, value in data.items():
        if name == "answers":
            for code, answer in value.items():
                post[f"criterion_{code}"] = WEB_ANSWER.get(answer, answer)
        else:
            post[name] = "" if value is MISSING else str(value)
    return post


def _api_body(data: dict) -> dict:
    return {name: value for name, value in data.items() if value is not MISSING}


def _web_errors(form) -> dict:
    errors = {}
    for name, messages in form.errors.items():
        key = name.replace("criterion_", "answers.", 1)
        errors[key] = list(messages)
    return errors


def _api_errors(body: dict) -> dict:
    errors = {}
    for name, messages in body.items():
        if isinstance(messages, dict):
            for code, code_messages in messages.items():
                errors[f"answers.{code}"] = code_messages
        else:
            errors[name] = messages
    return errors


CASES = {
    "future date": (
        {"screening_date": lambda: _days_from_today(1)},
        {},
        {"screening_date": IN_FUTURE},
    ),
    "before recruitment start": (
        {"screening_date": "2025-01-31"},
        {},
        {"screening_date": BEFORE_TRIAL},
    ),
    "not a date": (
        {"screening_date": "31/12/2025"},
        {},
        {"screening_date": ["Enter a valid date (YYYY-MM-DD)."]},
    ),
    "unknown site": (
        {"site": "ZZZ"},
        {},
        {"site": ["You cannot screen patients at site ZZZ."]},
    ),
    "site not allowed": (
        {"site": "HAM"},
        {},
        {"site": ["You cannot screen patients at site HAM."]},
    ),
    "site code too long": (
        {"site": "TORONTO"},
        {},
        {"site": ["Ensure this field has no more than 3 characters."]},
    ),
    "missing fields": (
        {
            "site": MISSING,
            "screening_date": MISSING,
            "age_at_screening": MISSING,
            "sex": MISSING,
        },
        {},
        {
            "site": REQUIRED,
            "screening_date": REQUIRED,
            "age_at_screening": REQUIRED,
            "sex": REQUIRED,
        },
    ),
    "invalid answer": (
        {},
        {"asa_3_or_less": "maybe"},
        {"answers.asa_3_or_less": ANSWER_INVALID},
    ),
    "age above the range": (
        {"age_at_screening": 121},
        {},
        {"age_at_screening": ["Ensure this value is less than or equal to 120."]},
    ),
    "age below the range": (
        {"age_at_screening": -1},
        {},
        {"age_at_screening": ["Ensure this value is greater than or equal to 0."]},
    ),
    "age not a number": (
        {"age_at_screening": "seventy"},
        {},
        {"age_at_screening": ["Enter a whole number."]},
    ),
    "age criterion met below the minimum age": (
        {"age_at_screening": 17},
        {},
        {"answers.age_adult": ["The age entered is 17: this criterion cannot be met."]},
    ),
    "year of birth before 1900": (
        {"year_of_birth": 1899},
        {},
        {"year_of_birth": ["Ensure this value is greater than or equal to 1900."]},
    ),
    "year of birth after the screening date": (
        {"year_of_birth": 2999},
        {},
        {"year_of_birth": ["Year of birth is after the screening date."]},
    ),
    "unknown sex": (
        {"sex": "robot"},
        {},
        {"sex": ["Choose one of: female, male, other."]},
    ),
    "unknown fracture status": (
        {"fracture_status": "partial"},
        {},
        {"fracture_status": ["Choose one of: impending, complete."]},
    ),
    "NUL byte in the notes": (
        {"screening_notes": "a\x00b"},
        {},
        {"screening_notes": NUL},
    ),
    "NUL byte in the site": ({"site": "T\x00R"}, {}, {"site": NUL}),
    "NUL byte in an answer": (
        {},
        {"asa_3_or_less": "yes\x00"},
        {"answers.asa_3_or_less": ANSWER_INVALID},
    ),
    "every error at once": (
        {
            "site": "HAM",
            "screening_date": "2025-01-31",
            "age_at_screening": "seventy",
            "year_of_birth": 1899,
            "sex": "robot",
            "screening_notes": "a\x00b",
        },
        {},
        {
            "site": ["You cannot screen patients at site HAM."],
            "screening_date": BEFORE_TRIAL,
            "age_at_screening": ["Enter a whole number."],
            "year_of_birth": ["Ensure this value is greater than or equal to 1900."],
            "sex": ["Choose one of: female, male, other."],
            "screening_notes": NUL,
        },
    ),
}


def _errors_of_both_channels(client, user, data: dict) -> tuple[dict, dict]:
    """(web form errors, API errors) for ``data``; both must refuse it."""
    client.force_login(user)
    response = client.post(reverse("participant_screen"), _web_post(data))
    assert response.status_code == 200, "the form re-renders"
    web = _web_errors(response.context["form"])
    response = api_client_for(user).post(
        PARTICIPANTS_URL, _api_body(data), format="json"
    )
    assert response.status_code == 400
    return web, _api_errors(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "answer_changes", "expected"), CASES.values(), ids=CASES.keys()
)
def test_web_form_and_api_refuse_the_same_input_with_the_same_messages(
    client, users, site_a, site_b, changes, answer_changes, expected
):
    data = _case_input(changes, answer_changes)
    web, api = _errors_of_both_channels(client, users["coordinator"], data)
    assert web == expected
    assert api == expected
    assert not Participant.objects.exists()
    site_a.refresh_from_db()
    assert site_a.last_participant_number == 0


@pytest.mark.django_db
def test_both_channels_follow_the_configured_minimum_age(client, users, site_a):
    data = _case_input({"age_at_screening": 20}, {})
    expected = {
        "answers.age_adult": ["The age entered is 20: this criterion cannot be met."]
    }
    with override_settings(TRIAL=settings.TRIAL | {"MIN_AGE": 21}):
        assert _errors_of_both_channels(client, users["coordinator"], data) == (
            expected,
            expected,
        )


@pytest.mark.django_db
def test_the_same_input_is_accepted_by_both_channels(client, users, site_a):
    client.force_login(users["coordinator"])
    data = _valid_input() | {"year_of_birth": today().year - 71}
    response = client.post(reverse("participant_screen"), _web_post(data))
    assert response.status_code == 302
    response = api_client_for(users["coordinator"]).post(
        PARTICIPANTS_URL, _api_body(data), format="json"
    )
    assert response.status_code == 201, response.json()
    assert list(Participant.objects.values_list("status", flat=True)) == [
        "eligible",
        "eligible",
    ]


@pytest.mark.django_db
def test_the_screening_edit_form_applies_the_same_rules_without_a_site(
    client, users, site_a, screen
):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    post = _web_post(_case_input({"age_at_screening": 17}, {}))
    del post["site"]
    post["reason"] = "Age corrected"
    response = client.post(
        reverse("participant_screening_edit", args=[participant.study_id]), post
    )
    assert response.status_code == 200
    assert _web_errors(response.context["form"]) == {
        "answers.age_adult": ["The age entered is 17: this criterion cannot be met."]
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"age_at_screening": 130},
            "age_at_screening",
            "Ensure this value is less than or equal to 120.",
        ),
        (
            {"year_of_birth": 1800},
            "year_of_birth",
            "Ensure this value is greater than or equal to 1900.",
        ),
        (
            {"age_at_screening": 16},
            "answers",
            "age_adult: The age entered is 16: this criterion cannot be met.",
        ),
        (
            {"answers": {"bogus": True}},
            "answers",
            "bogus: Unknown eligibility criterion.",
        ),
        (
            {"screening_date": datetime.date(2025, 1, 31)},
            "screening_date",
            BEFORE_TRIAL[0],
        ),
    ],
)
def test_the_services_refuse_what_the_channels_refuse(
    users, site_a, screen, overrides, field, message
):
    """The demo and any other caller of the services meet the same rules."""
    with pytest.raises(TrialError) as error:
        screen(users["coordinator"], site_a, **overrides)
    assert (error.value.field, error.value.message) == (field, message)
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_the_services_refuse_a_site_the_user_may_not_screen_at(users, site_b, screen):
    with pytest.raises(SiteNotAllowed) as error:
        screen(users["coordinator"], site_b)
    assert (error.value.field, error.value.message) == (
        "site",
        screening.site_not_allowed("HAM"),
    )
