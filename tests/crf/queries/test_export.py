"""The data queries as CSV (issue 17): within the user's scope, every query
the list's filters select (not one page), with labels, UTC times, the thread,
and cells a spreadsheet will not run as formulas."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from crf.models import DataQuery
from crf.queries import services as queries
from crf.queries.export import COLUMNS
from tests.clock import today_at
from tests.crf.queries.test_services import operative_save

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="queries.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == COLUMNS
    return list(reader)


@pytest.fixture
def two_sites(users, site_a, site_b, randomize, screen):
    """A query at TOR (answered, its question starting with "=") and one at
    HAM (open)."""
    tor_participant = randomize(screen(users["coordinator"], site_a))
    tor = operative_save(users["coordinator"], tor_participant)
    ham_participant = randomize(
        screen(users["coordinator2"], site_b), coordinator=users["coordinator2"]
    )
    # Operated today on Hamburg's calendar (randomized today there).
    ham = operative_save(
        users["coordinator2"], ham_participant, surgery_date=today_at(site_b)
    )
    at_tor = queries.query_raise(
        actor=users["datamanager"],
        form=tor,
        field_name="blood_loss_ml",
        text='=HYPERLINK("http://evil") please confirm blood loss',
    )
    queries.query_answer(
        actor=users["coordinator"], query=at_tor, text="Confirmed: 400 mL."
    )
    at_ham = queries.query_raise(
        actor=users["datamanager"], form=ham, text="Implant missing?"
    )
    # Raised ten days ago (its age in whole days: 10).
    DataQuery.objects.filter(pk=at_ham.pk).update(
        raised_at=datetime.datetime.now(datetime.UTC)
        - datetime.timedelta(days=10, hours=1)
    )
    return at_tor, at_ham


def test_the_coordinator_gets_their_sites_queries_only(client, users, two_sites):
    at_tor, _at_ham = two_sites
    client.force_login(users["coordinator"])
    rows = rows_of(client.get(reverse("queries:list"), {"format": "csv"}))
    assert [row["query"] for row in rows] == [str(at_tor.pk)]
    (row,) = rows
    assert row["site"] == "TOR"
    assert row["site_time_zone"] == "America/Toronto"
    assert row["form"] == "Operative"
    assert row["field"] == "Blood loss (mL)"
    assert row["field_name"] == "blood_loss_ml"
    # Defused: a spreadsheet shows the text, does not run it.
    assert row["question"] == '\'=HYPERLINK("http://evil") please confirm blood loss'
    assert row["status"] == "Answered by site"
    assert row["with"] == "Data manager"
    assert row["raised_by"] == "datamanager"
    raised = datetime.datetime.fromisoformat(row["raised_at_utc"])
    assert raised.utcoffset() == datetime.timedelta(0)
    assert raised == at_tor.raised_at.replace(microsecond=0)
    thread = row["thread"].splitlines()
    assert len(thread) == 2
    assert "Raised by datamanager: " in thread[0]
    assert thread[1].endswith("Answered by coordinator: Confirmed: 400 mL.")


def test_the_data_manager_gets_every_site_and_the_filters_apply(
    client, users, two_sites
):
    at_tor, at_ham = two_sites
    client.force_login(users["datamanager"])
    url = reverse("queries:list")
    rows = rows_of(client.get(url, {"format": "csv"}))
    assert {row["query"] for row in rows} == {str(at_tor.pk), str(at_ham.pk)}
    ham = next(row for row in rows if row["site"] == "HAM")
    assert (ham["field"], ham["status"], ham["age_days"]) == (
        "The whole form",
        "Open",
        "10",
    )
    assert ham["with"] == "Site HAM"
    assert [
        r["query"] for r in rows_of(client.get(url, {"format": "csv", "site": "HAM"}))
    ] == [str(at_ham.pk)]
    assert [
        r["query"]
        for r in rows_of(client.get(url, {"format": "csv", "status": "answered"}))
    ] == [str(at_tor.pk)]
    # The page links to the CSV of what its valid filters select.
    page = client.get(url, {"site": "HAM"}).content.decode()
    assert 'id="queries-csv" href="?site=HAM&amp;format=csv"' in page


def test_every_query_not_one_page_and_a_bad_filter_is_ignored(client, users, two_sites):
    at_tor, at_ham = two_sites
    client.force_login(users["coordinator"])
    # Another site's code (not offered to the coordinator) selects nothing
    # beyond their scope: the filter is invalid, their own queries come back.
    rows = rows_of(
        client.get(reverse("queries:list"), {"format": "csv", "site": "HAM"})
    )
    assert [row["query"] for row in rows] == [str(at_tor.pk)]
    # More queries than a page (50): all of them.
    tor = DataQuery.objects.get(pk=at_tor.pk)
    DataQuery.objects.bulk_create(
        DataQuery(
            participant=tor.participant,
            form_type=tor.form_type,
            form_id=tor.form_id,
            text=f"Question {n}",
            raised_by=users["datamanager"],
        )
        for n in range(60)
    )
    rows = rows_of(client.get(reverse("queries:list"), {"format": "csv"}))
    assert len(rows) == 61
    assert str(at_ham.pk) not in {row["query"] for row in rows}
