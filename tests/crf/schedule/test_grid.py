"""The record status grid: the state of every cell, where each cell leads,
who sees which participants, filters, paging, and a query count that does not
grow with the data."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crf.models import (
    AdverseEvent,
    Baseline,
    DataQuery,
    Death,
    Discharge,
    FollowUp,
    FormStatus,
    Operative,
    Reoperation,
)
from crf.schedule.dashboards import grid
from crf.schedule.visits import site_today
from perform.models import Participant, ParticipantStatus
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
URL = "/record-status/"


def today_at(site):
    return site_today(site.time_zone)


def query_on(form, actor, status=DataQuery.Status.OPEN):
    return DataQuery.objects.create(
        participant=form.participant,
        form_type=ContentType.objects.get_for_model(form),
        form_id=form.pk,
        field_name="",
        text="Please check.",
        status=status,
        raised_by=actor,
    )


@pytest.fixture
def cohort(users, site_a, site_b):
    """Site A: ``full`` has one cell of each state (surgery 250 days ago: the
    2-week to 6-month windows closed, 9 months open, 12 months not yet);
    ``consented`` is not randomized, ``ineligible`` was screened out,
    ``waiting`` is randomized with no surgery yet, ``died`` died on day 100
    after surgery. Site B: ``elsewhere`` with an overdue visit."""
    actor = users["coordinator"]
    full, consented, ineligible, waiting, died = participants_add(
        site_a, 5, actor=actor
    )
    (elsewhere,) = participants_add(site_b, 1, actor=users["coordinator2"])
    Participant.objects.filter(pk=consented.pk).update(
        status=ParticipantStatus.CONSENTED
    )
    Participant.objects.filter(pk=ineligible.pk).update(
        status=ParticipantStatus.INELIGIBLE
    )
    Participant.objects.filter(pk=died.pk).update(status=ParticipantStatus.DIED)
    surgery = today_at(site_a) - 250 * DAY
    for p in (full, died, elsewhere):
        Operative.objects.create(**form_kwargs(p, actor, surgery_date=surgery))
    Baseline.objects.create(**form_kwargs(full, actor, status=FormStatus.DRAFT))
    discharge = Discharge.objects.create(
        **form_kwargs(
            full,
            actor,
            status=FormStatus.SIGNED,
            discharge_date=surgery + 5 * DAY,
            signed_at=timezone.now(),
            signed_by=users["investigator"],
        )
    )
    query_on(discharge, users["datamanager"])
    # A closed query is no longer shown.
    query_on(discharge, users["datamanager"], status=DataQuery.Status.CLOSED)
    FollowUp.objects.create(
        **form_kwargs(
            full,
            actor,
            visit="2w",
            visit_date=surgery + 14 * DAY,
            vital_status="alive",
            locked=True,
        )
    )
    FollowUp.objects.create(
        **form_kwargs(full, actor, visit="4m", missed_reason="Too unwell")
    )
    FollowUp.objects.create(
        **form_kwargs(full, actor, status=FormStatus.DRAFT, visit="6m")
    )
    first_ae = AdverseEvent.objects.create(**form_kwargs(full, actor, term="Fall"))
    AdverseEvent.objects.create(
        **form_kwargs(full, actor, status=FormStatus.DRAFT, term="Rash")
    )
    reoperation = Reoperation.objects.create(
        **form_kwargs(full, actor, reoperation_date=surgery + 30 * DAY)
    )
    Death.objects.create(**form_kwargs(died, actor, death_date=surgery + 100 * DAY))
    return {
        "full": full,
        "consented": consented,
        "ineligible": ineligible,
        "waiting": waiting,
        "died": died,
        "elsewhere": elsewhere,
        "discharge": discharge,
        "first_ae": first_ae,
        "reoperation": reoperation,
    }


def cells_of(response, study_id):
    (row,) = [r for r in response.context["rows"] if r.participant.study_id == study_id]
    return {cell.column: cell for cell in row.cells}


def states_of(response, study_id):
    return {key: cell.state for key, cell in cells_of(response, study_id).items()}


def grid_get(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_each_cell_shows_the_state_of_its_form_or_visit(client, users, cohort):
    response = grid_get(client, users["coordinator"])
    assert states_of(response, cohort["full"].study_id) == {
        "baseline": grid.DRAFT,
        "operative": grid.COMPLETE,
        "discharge": grid.SIGNED,
        "2w": grid.LOCKED,
        "6w": grid.OVERDUE,
        "4m": grid.MISSED,
        "6m": grid.DRAFT,
        "9m": grid.DUE,
        "12m": grid.NOT_YET_DUE,
        "adverse-event": grid.DRAFT,  # one complete, one draft: the least advanced
        "reoperation": grid.COMPLETE,
        "deviation": grid.NONE,
        "local-recurrence": grid.NONE,
        "death": grid.NONE,
        "withdrawal": grid.NONE,
    }
    cells = cells_of(response, cohort["full"].study_id)
    assert cells["discharge"].queries == 1  # the open one; the closed one not
    assert [key for key, cell in cells.items() if cell.queries] == ["discharge"]
    assert (cells["adverse-event"].count, cells["adverse-event"].text) == (2, "2")
    assert cells["reoperation"].count == 1


@pytest.mark.django_db
def test_cells_say_not_applicable_before_randomization_and_after_death(
    client, users, cohort
):
    response = grid_get(client, users["coordinator"])
    consented = states_of(response, cohort["consented"].study_id)
    assert consented["baseline"] == grid.DUE
    assert consented["deviation"] == grid.NONE  # deviations from consent on
    assert {
        consented[key]
        for key in ("operative", "discharge", "2w", "12m", "adverse-event", "death")
    } == {grid.NOT_APPLICABLE}
    assert states_of(response, cohort["ineligible"].study_id)["baseline"] == (
        grid.NOT_APPLICABLE
    )
    waiting = states_of(response, cohort["waiting"].study_id)
    assert waiting["operative"] == grid.DUE
    assert waiting["discharge"] == grid.NOT_YET_DUE
    assert {waiting[v] for v in ("2w", "6w", "4m", "6m", "9m", "12m")} == {
        grid.NOT_YET_DUE
    }
    died = states_of(response, cohort["died"].study_id)
    # Windows closed before death stay overdue; the later ones are not expected.
    assert [died[v] for v in ("2w", "6w", "4m", "6m", "9m", "12m")] == [
        grid.OVERDUE,
        grid.OVERDUE,
        grid.NOT_APPLICABLE,
        grid.NOT_APPLICABLE,
        grid.NOT_APPLICABLE,
        grid.NOT_APPLICABLE,
    ]
    assert died["death"] == grid.COMPLETE


@pytest.mark.django_db
def test_every_cell_links_to_its_form_page(client, users, cohort):
    study_id = cohort["full"].study_id
    response = grid_get(client, users["coordinator"])
    cells = cells_of(response, study_id)
    forms = f"/participants/{study_id}/forms/"
    assert cells["baseline"].url == forms + "baseline/"
    assert cells["6w"].url == forms + "follow-up/6w/"
    assert cells["12m"].url == forms + "follow-up/12m/"
    assert cells["death"].url == forms + "death/"
    # One reoperation: that form; two adverse events or none: their list.
    assert cells["reoperation"].url == (
        forms + f"reoperation/{cohort['reoperation'].pk}/"
    )
    assert cells["adverse-event"].url == forms + "#repeatable-adverse-event"
    assert cells["deviation"].url == forms + "#repeatable-deviation"
    html = response.content.decode()
    for cell in cells.values():
        assert f'href="{cell.url}"' in html
    # The word of each state is in the cell, not only its colour.
    assert "overdue" in html and "?1" in html
    for cell in cells.values():
        assert client.get(cell.url.split("#")[0]).status_code == 200


@pytest.mark.django_db
def test_site_staff_see_only_their_site_whatever_the_site_filter(client, users, cohort):
    response = grid_get(client, users["coordinator"], site="HAM")
    listed = {row.participant.study_id for row in response.context["rows"]}
    assert listed == {
        cohort[k].study_id
        for k in ("full", "consented", "ineligible", "waiting", "died")
    }
    assert "site" not in response.context["filters"].fields  # one site: no filter
    response = grid_get(client, users["coordinator2"])
    assert [r.participant.study_id for r in response.context["rows"]] == [
        cohort["elsewhere"].study_id
    ]
    assert cohort["full"].study_id not in response.content.decode()


@pytest.mark.django_db
def test_methods_centre_sees_every_site_and_filters_by_site(client, users, cohort):
    response = grid_get(client, users["datamanager"])
    assert response.context["page"].paginator.count == 6
    response = grid_get(client, users["datamanager"], site="HAM")
    assert [r.participant.study_id for r in response.context["rows"]] == [
        cohort["elsewhere"].study_id
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("overdue", {"full", "died"}),
        ("due", {"full"}),
        ("draft", {"full"}),
        ("query", {"full"}),
        # Complete forms awaiting a signature (the signed discharge is not).
        ("not_signed", {"full", "died"}),
    ],
)
def test_status_filters(client, users, cohort, status, expected):
    response = grid_get(client, users["coordinator"], status=status)
    listed = {row.participant.study_id for row in response.context["rows"]}
    assert listed == {cohort[k].study_id for k in expected}


@pytest.mark.django_db
def test_status_filter_by_overdue_visits_across_sites(client, users, cohort):
    response = grid_get(client, users["datamanager"], status="overdue")
    listed = {row.participant.study_id for row in response.context["rows"]}
    assert listed == {cohort[k].study_id for k in ("full", "died", "elsewhere")}


@pytest.mark.django_db
def test_study_id_search(client, users, cohort):
    response = grid_get(client, users["coordinator"], q="tor-0002")
    assert [r.participant.study_id for r in response.context["rows"]] == [
        cohort["consented"].study_id
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"status": "nonsense"},
        {"site": "XYZ"},
        {"q": "x" * 200},
        {"status": "overdue'; DROP TABLE x; --"},
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999999999999999999999"},
    ],
)
def test_bad_filter_values_are_ignored_with_a_message(client, users, cohort, params):
    response = grid_get(client, users["datamanager"], **params)
    assert response.context["page"].paginator.count == 6
    html = response.content.decode()
    if "page" not in params:
        assert 'id="grid-filter-errors"' in html
        (name,) = params
        assert f'data-filter="{name}"' in html


@pytest.mark.django_db
def test_a_bad_filter_leaves_the_good_ones_applied(client, users, cohort):
    response = grid_get(
        client, users["datamanager"], status="nonsense", site="HAM", q="0001"
    )
    assert [r.participant.study_id for r in response.context["rows"]] == [
        cohort["elsewhere"].study_id
    ]


@pytest.mark.django_db
def test_grid_is_paged_by_study_id(client, users, site_a):
    participants_add(site_a, 120, actor=users["coordinator"])
    response = grid_get(client, users["coordinator"])
    page = response.context["page"]
    assert page.paginator.count == 120
    assert len(response.context["rows"]) == 50
    assert response.context["rows"][0].participant.study_id == "PRF-TOR-0001"
    response = grid_get(client, users["coordinator"], page=3)
    ids = [r.participant.study_id for r in response.context["rows"]]
    assert ids == [f"PRF-TOR-{n:04d}" for n in range(101, 121)]
    # Filters are kept in the page links.
    response = grid_get(client, users["coordinator"], q="PRF", page=2)
    assert "?q=PRF&amp;page=3" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["dsmb", "admin", "owner"])
def test_roles_without_forms_cannot_open_the_grid(client, users, role):
    client.force_login(users[role])
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_menu_and_site_dashboard_link_to_the_grid(client, users):
    client.force_login(users["coordinator"])
    html = client.get(reverse("dashboards:site")).content.decode()
    assert 'id="record-status-link"' in html
    assert html.count(f'href="{URL}"') == 2  # the menu and the dashboard


def add_participants_with_everything(users, site_a, site_b, count):
    """``count`` participants over both sites, each with surgery 200 days ago,
    three visits done (6 months overdue), a draft baseline with an open query,
    a signed discharge and two adverse events."""
    actor = users["coordinator"]
    people = participants_add(site_a, count // 2, actor=actor) + participants_add(
        site_b, count - count // 2, actor=actor
    )
    Operative.objects.bulk_create(
        Operative(
            **form_kwargs(
                p, actor, surgery_date=site_today(p.site.time_zone) - 200 * DAY
            )
        )
        for p in people
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            **form_kwargs(
                p,
                actor,
                visit=visit,
                visit_date=site_today(p.site.time_zone) - (200 - day) * DAY,
                vital_status="alive",
            )
        )
        for p in people
        for visit, day in (("2w", 14), ("6w", 42), ("4m", 120))
    )
    Discharge.objects.bulk_create(
        Discharge(**form_kwargs(p, actor, status=FormStatus.SIGNED)) for p in people
    )
    AdverseEvent.objects.bulk_create(
        AdverseEvent(**form_kwargs(p, actor, term=term))
        for p in people
        for term in ("Fall", "Rash")
    )
    baselines = Baseline.objects.bulk_create(
        Baseline(**form_kwargs(p, actor, status=FormStatus.DRAFT)) for p in people
    )
    baseline_type = ContentType.objects.get_for_model(Baseline)
    DataQuery.objects.bulk_create(
        DataQuery(
            participant=b.participant,
            form_type=baseline_type,
            form_id=b.pk,
            text="Please check.",
            raised_by=users["datamanager"],
        )
        for b in baselines
    )


@pytest.mark.django_db
def test_grid_query_count_does_not_grow_with_participants(
    client, users, site_a, site_b
):
    requests = [
        ("coordinator", {}),
        ("datamanager", {}),
        ("datamanager", {"status": "overdue"}),
        ("datamanager", {"status": "draft", "site": "HAM"}),
        ("datamanager", {"status": "query", "q": "PRF"}),
        ("coordinator", {"status": "not_signed", "page": "2"}),
    ]

    def counts():
        result = []
        for role, params in requests:
            client.force_login(users[role])
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(URL, params)
            assert response.status_code == 200
            assert response.context["rows"], (role, params)
            result.append([q["sql"] for q in ctx.captured_queries])
        return result

    add_participants_with_everything(users, site_a, site_b, 10)
    # Page 2 of the coordinator's needs more than 50 participants at site A;
    # at 10 the paginator shows the last page (still one page of rows).
    few = counts()
    add_participants_with_everything(users, site_a, site_b, 190)
    assert Participant.objects.count() == 200
    many = counts()
    for (role, params), sql_few, sql_many in zip(requests, few, many, strict=True):
        assert len(sql_few) == len(sql_many), (
            f"{role} {params}: {len(sql_few)} queries at 10 participants, "
            f"{len(sql_many)} at 200:\n" + "\n".join(s[:300] for s in sql_many)
        )
