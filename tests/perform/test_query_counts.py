"""Pages run a number of SQL queries that does not grow with the data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import eligible_answers


def queries_for(client, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "user"),
    [
        ("participant_list", "coordinator"),
        ("screening_log", "coordinator"),
        ("screening_summary", "datamanager"),
    ],
)
def test_list_pages_query_count_is_independent_of_participants(
    client, users, site_a, site_b, screen, url_name, user
):
    client.force_login(users[user])
    screen(users["coordinator"], site_a)
    screen(users["coordinator2"], site_b)
    few = queries_for(client, reverse(url_name))
    for n in range(20):
        answers = eligible_answers() | ({"active_infection": True} if n % 3 else {})
        screen(users["coordinator"], site_a, answers=answers)
        screen(users["coordinator2"], site_b, answers=answers)
    many = queries_for(client, reverse(url_name))
    assert few == many


@pytest.mark.django_db
def test_participant_page_query_count_is_independent_of_history_length(
    client, users, site_a, screen
):
    from perform import services

    participant = screen(users["coordinator"], site_a)
    client.force_login(users["coordinator"])
    url = reverse("participant_detail", args=[participant.study_id])
    before = queries_for(client, url)
    for age in range(65, 75):
        services.participant_screening_update(
            actor=users["coordinator"],
            participant=participant,
            reason="correction",
            screening_date=participant.screening_date,
            age_at_screening=age,
            sex="female",
            answers=eligible_answers(),
        )
    assert queries_for(client, url) == before
