"""Schemathesis against the live API, as every role (and anonymous).

The OpenAPI schema the server publishes drives generation: for each role and
each operation, Hypothesis draws requests valid for the schema and requests
that break it (negative mode), a bounded number of each, and sends them over
HTTP to pytest-django's live server. Every answer must be no server error, a
status code and content type the schema documents for that operation, and a
body its schema for that status accepts. The suite's ``no_server_errors``
fixture also fails the test if any request raised inside the server.

The data the requests can reach is real: participants at both sites in
several lifecycle states, one randomized with forms. ``SCHEMATHESIS_EXAMPLES``
sets the examples per operation, mode and role (default 12).
"""

import os

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crf.forms import services as crf_services
from crf.models import AdverseEvent
from perform.api_tokens import api_token_issue
from tests.test_role_url_matrix import ROLES

pytestmark = [pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Logging out revokes the token the rest of the run uses; these two are
# tested one by one (tests/perform/test_api_tokens.py), and here anonymously.
REVOKES_ITS_TOKEN = {"auth_logout", "auth_logout_all"}


@pytest.fixture
def trial_data(users, site_a, site_b, screen, randomize):
    """Participants in several states at both sites; one randomized with an
    adverse event, so that generated paths can meet real objects."""
    coordinator = users["coordinator"]
    screen(coordinator, site_a)
    screen(coordinator, site_a, answers={})
    screen(users["coordinator2"], site_b)
    randomized = randomize(screen(coordinator, site_a))
    crf_services.form_save(
        actor=coordinator,
        form=AdverseEvent(participant=randomized, term="Fall"),
        complete=False,
    )
    return randomized


def test_the_api_keeps_to_its_schema_for_every_role(live_server, users, trial_data):
    tokens = {
        role: api_token_issue(user=users[role], client="schemathesis")[1]
        for role in ROLES
        if role != "anonymous"
    }
    published = requests.get(
        f"{live_server.url}/api/v1/schema/",
        headers={"Authorization": f"Token {tokens['coordinator']}"},
        timeout=30,
    )
    assert published.status_code == 200
    schema = from_dict(published.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    known_study_ids = [trial_data.study_id]

    failures = []
    session = requests.Session()
    for role in ROLES:
        headers = {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}
        for operation in operations:
            operation_id = operation.definition.raw.get("operationId")
            if role != "anonymous" and operation_id in REVOKES_ITS_TOKEN:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failure = _run(
                    operation, mode, live_server.url, headers, session, known_study_ids
                )
                if failure:
                    label = f"{role} {operation.label} ({mode.value})"
                    failures.append(f"{label}: {failure}")
    assert not failures, "\n\n".join(failures)


def _run(operation, mode, base_url, headers, session, study_ids) -> str | None:
    """Send up to ``EXAMPLES`` generated requests; the first failure, if any."""
    found = []
    path_parameters = (
        {"study_id": study_ids[0]}
        if "{study_id}" in operation.path and mode == GenerationMode.POSITIVE
        else None
    )
    try:
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters=path_parameters
        )
    except Exception as error:  # noqa: BLE001 - no strategy for this mode
        return None if "negative" in str(error).lower() else repr(error)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case):
        if found:
            return
        try:
            case.call_and_validate(
                base_url=base_url, headers=headers, session=session, checks=CHECKS
            )
        except FailureGroup as group:
            found.append(str(group)[:3000])

    try:
        send()
    except Unsatisfiable:
        # Nothing to make invalid (an operation with no parameters or body).
        if mode != GenerationMode.NEGATIVE:
            raise
    return found[0] if found else None
