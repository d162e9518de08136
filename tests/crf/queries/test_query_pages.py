"""Query pages speak the user's language (issue 15): field and form labels,
never database names; the form and field as a link to the field on its form;
times in the site's zone, named; the query's age and who has to act next."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.models import DataQuery
from crf.queries import services as queries
from tests.crf.queries.test_services import operative_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def query(users, randomized):
    operative = operative_save(users["coordinator"], randomized)
    raised = queries.query_raise(
        actor=users["datamanager"],
        form=operative,
        field_name="blood_loss_ml",
        text="Blood loss 400 mL: please confirm from the anaesthetic chart.",
    )
    # Raised three days and five hours ago (whole days count: 3).
    at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3, hours=5)
    DataQuery.objects.filter(pk=raised.pk).update(raised_at=at)
    raised.refresh_from_db()
    return raised


def _local(query) -> str:
    zone = ZoneInfo(query.participant.site.time_zone)
    return query.raised_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def test_the_query_page_names_the_field_links_to_it_and_shows_site_time(
    client, users, query
):
    client.force_login(users["coordinator"])
    html = client.get(reverse("queries:detail", args=[query.pk])).content.decode()
    assert "blood_loss_ml" not in re.sub(r'href="[^"]*"', "", html)
    assert re.search(r'id="query-field">\s*Blood loss', html, re.IGNORECASE)
    url = re.search(r'<a href="([^"]+)" id="query-form-link">', html).group(1)
    assert url.endswith("#div_id_blood_loss_ml")
    assert client.get(url.split("#")[0]).status_code == 200
    assert "id_blood_loss_ml" in client.get(url.split("#")[0]).content.decode()
    local = _local(query)
    zone_name = query.raised_at.astimezone(
        ZoneInfo(query.participant.site.time_zone)
    ).strftime("%Z")
    assert f"{local} {zone_name}" in html
    assert "(3 days ago)" in html
    assert re.search(r'id="query-assigned">\s*Site TOR', html)


def test_the_list_shows_labels_site_time_age_and_who_acts(client, users, query):
    client.force_login(users["datamanager"])
    html = client.get(reverse("queries:list")).content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert "blood_loss_ml" not in re.sub(r'href="[^"]*"', "", row)
    assert "Operative" in row and "lood loss" in row
    assert _local(query) in row
    assert "3 days" in row and "Site TOR" in row
    queries.query_answer(actor=users["coordinator"], query=query, text="Confirmed.")
    row = re.search(
        r"<tbody>(.*?)</tbody>",
        client.get(reverse("queries:list")).content.decode(),
        re.S,
    ).group(1)
    assert "Data manager" in row


def test_the_list_costs_the_same_queries_for_one_or_many(client, users, query):
    client.force_login(users["datamanager"])
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("queries:list"))
    for n in range(5):
        queries.query_raise(
            actor=users["datamanager"],
            form=query.form,
            field_name="duration_min",
            text=f"Check {n}",
        )
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("queries:list"))
    assert len(six) == len(one)
