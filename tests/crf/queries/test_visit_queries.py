"""Automatic visit queries sit on that visit's follow-up form (issue 15): an
overdue visit's query is anchored on the visit before its form exists, the
reconciliation raises it once, completing the visit closes it, the database
keeps the anchor consistent, and the pages show it on the visit's form."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.urls import reverse

from crf.forms import services
from crf.models import DataQuery, FollowUp, Operative
from crf.queries.automatic import MISSING_PREFIX, queries_autocheck
from tests.clock import today
from tests.crf.queries.test_services import operative_save

pytestmark = pytest.mark.django_db

SURGERY_DAYS_AGO = 30  # the 2-week window (days 10–21) closed nine days ago


@pytest.fixture
def overdue(users, site_a, screen, randomize):
    """A participant operated 30 days ago, the 2-week visit not entered."""
    surgery = today() - datetime.timedelta(days=SURGERY_DAYS_AGO)
    participant = randomize(screen(users["coordinator"], site_a), on=surgery)
    operative_save(users["coordinator"], participant, surgery_date=surgery)
    return participant


def visit_queries(participant):
    return DataQuery.objects.filter(
        participant=participant, check_code=MISSING_PREFIX + "2w"
    )


def follow_up(actor, participant, *, complete, pk=None):
    form = FollowUp.objects.get(pk=pk) if pk else FollowUp(participant=participant)
    form.visit = "2w"
    form.visit_date = today() - datetime.timedelta(days=2)
    form.vital_status = "alive"
    return services.form_save(actor=actor, form=form, complete=complete)


def test_an_overdue_visit_has_its_query_on_that_visits_follow_up_form(overdue):
    assert queries_autocheck([overdue.pk]) == {"raised": 1, "closed": 0}
    query = visit_queries(overdue).get()
    assert query.form_type == ContentType.objects.get_for_model(FollowUp)
    assert (query.visit, query.form_id, query.field_name) == ("2w", None, "")
    assert query.status == DataQuery.Status.OPEN
    assert not DataQuery.objects.filter(
        form_type=ContentType.objects.get_for_model(Operative)
    ).exists()


def test_reconciliation_twice_raises_the_visit_query_once(overdue):
    assert queries_autocheck([overdue.pk]) == {"raised": 1, "closed": 0}
    assert queries_autocheck([overdue.pk]) == {"raised": 0, "closed": 0}
    assert queries_autocheck() == {"raised": 0, "closed": 0}
    assert visit_queries(overdue).count() == 1


def test_a_draft_keeps_the_query_and_completing_the_visit_closes_it(users, overdue):
    coordinator = users["coordinator"]
    queries_autocheck([overdue.pk])
    draft = follow_up(coordinator, overdue, complete=False)
    # A draft is not the visit done: the same query stays open, on the visit.
    assert queries_autocheck([overdue.pk]) == {"raised": 0, "closed": 0}
    query = visit_queries(overdue).get()
    assert query.status == DataQuery.Status.OPEN and query.form_id is None

    done = follow_up(coordinator, overdue, complete=True, pk=draft.pk)
    # Closed; the visit, done after its window, has that check's query instead,
    # on the entered form (and its visit).
    assert queries_autocheck([overdue.pk]) == {"raised": 1, "closed": 1}
    late = DataQuery.objects.get(check_code="visit_after_window")
    assert (late.form_id, late.visit) == (done.pk, "2w")
    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    assert query.messages.last().text.startswith("Resolved")
    assert queries_autocheck([overdue.pk]) == {"raised": 0, "closed": 0}


def test_the_database_refuses_a_query_on_neither_a_form_nor_a_visit(overdue):
    queries_autocheck([overdue.pk])
    query = visit_queries(overdue).get()
    with transaction.atomic(), pytest.raises(IntegrityError):
        DataQuery.objects.filter(pk=query.pk).update(visit="")
    # A second unresolved automatic query on the same visit and check.
    duplicate = DataQuery(
        participant=overdue,
        form_type=query.form_type,
        visit="2w",
        check_code=query.check_code,
        text="again",
    )
    with transaction.atomic(), pytest.raises(IntegrityError):
        duplicate.save()


def test_the_visit_query_shows_on_the_visits_form_and_links_there(
    client, users, overdue
):
    queries_autocheck([overdue.pk])
    query = visit_queries(overdue).get()
    form_page = reverse("crf:visit_edit", args=[overdue.study_id, "2w"])

    client.force_login(users["coordinator"])
    html = client.get(form_page).content.decode()
    top = html[html.index('id="form-queries"') : html.index('id="crf-follow-up"')]
    assert 'id="query-marker-form"' in top and "2 weeks follow-up visit" in top
    assert f'form="query-{query.pk}-answer"' in top
    # Not on another visit's page.
    other = client.get(reverse("crf:visit_edit", args=[overdue.study_id, "6w"]))
    assert 'id="query-marker-form"' not in other.content.decode()

    client.force_login(users["datamanager"])
    listing = client.get(reverse("queries:list")).content.decode()
    assert f'href="{form_page}#form-queries"' in listing
    assert "Follow-up visit: 2 weeks" in listing
    detail = client.get(reverse("queries:detail", args=[query.pk])).content.decode()
    assert f'href="{form_page}#form-queries" id="query-form-link"' in detail


def test_the_coordinator_answers_the_visit_query_on_the_visit_form(
    client, users, overdue
):
    queries_autocheck([overdue.pk])
    query = visit_queries(overdue).get()
    form_page = reverse("crf:visit_edit", args=[overdue.study_id, "2w"])
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("queries:detail", args=[query.pk]),
        {"action": "answer", "text": "Visit booked for Monday.", "return_to": "form"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{form_page}#form-queries"
    query.refresh_from_db()
    assert query.status == DataQuery.Status.ANSWERED


def test_migration_moves_overdue_visit_queries_onto_the_visit(users, overdue):
    """0008_query_visit: a query the old check filed on the operative form
    (and a manual one on an entered follow-up) is re-anchored."""
    operative = Operative.objects.get(participant=overdue)
    old = DataQuery.objects.create(
        participant=overdue,
        form_type=ContentType.objects.get_for_model(Operative),
        form_id=operative.pk,
        check_code=MISSING_PREFIX + "2w",
        text="The 2 weeks follow-up visit is overdue.",
    )
    entered = follow_up(users["coordinator"], overdue, complete=False)
    manual = DataQuery.objects.create(
        participant=overdue,
        form_type=ContentType.objects.get_for_model(FollowUp),
        form_id=entered.pk,
        field_name="visit_date",
        text="Date?",
    )
    migration = importlib.import_module("crf.migrations.0008_query_visit")
    migration.anchor_on_visits(apps, None)

    old.refresh_from_db()
    assert old.form_type.model_class() is FollowUp
    assert (old.form_id, old.visit) == (None, "2w")
    manual.refresh_from_db()
    assert (manual.form_id, manual.visit) == (entered.pk, "2w")
    # The reconciliation finds it where the check now looks: nothing new.
    assert queries_autocheck([overdue.pk]) == {"raised": 0, "closed": 0}

    migration.anchor_on_operative(apps, None)
    old.refresh_from_db()
    assert (old.form_type.model_class(), old.form_id) == (Operative, operative.pk)
