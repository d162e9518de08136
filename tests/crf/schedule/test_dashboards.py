"""The site dashboard and the Methods Centre data-quality view: what they list,
who sees what, and a query count that does not grow with the data."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.models import Baseline, DataQuery, FollowUp, FormStatus, Operative
from crf.schedule import dashboards as dashboard
from crf.schedule.visits import site_today
from perform.models import Participant
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)


def operated(participant, actor, days_ago):
    today = site_today(participant.site.time_zone)
    return Operative(
        **form_kwargs(participant, actor, surgery_date=today - days_ago * DAY)
    )


def follow_up(participant, actor, visit, visit_date, *, entered=None):
    zone = ZoneInfo(participant.site.time_zone)
    entered = entered or visit_date
    completed_at = datetime.datetime.combine(entered, datetime.time(12), tzinfo=zone)
    return FollowUp(
        **form_kwargs(
            participant,
            actor,
            visit=visit,
            visit_date=visit_date,
            vital_status="alive",
            completed_at=completed_at,
        )
    )


def query_on(form, actor, status=DataQuery.Status.OPEN):
    return DataQuery(
        participant=form.participant,
        form_type=ContentType.objects.get_for_model(form),
        form_id=form.pk,
        field_name="assessment_date",
        text="Please check the date.",
        status=status,
        raised_by=actor,
    )


@pytest.fixture
def cohort(users, site_a, site_b):
    """Site A: an overdue 2-week visit, a due one, a done one, one opening in 5
    days, a draft baseline and an open query (and a closed one); site B: one
    overdue visit."""
    actor = users["coordinator"]
    overdue, due, done, opening, drafted, queried = participants_add(
        site_a, 6, actor=actor
    )
    (elsewhere,) = participants_add(site_b, 1, actor=users["coordinator2"])
    Operative.objects.bulk_create(
        [
            operated(overdue, actor, 23),  # 2w window (days 10-21) closed
            operated(due, actor, 12),  # 2w window open
            operated(done, actor, 15),
            operated(opening, actor, 5),  # 2w window opens in 5 days
            operated(elsewhere, actor, 23),
        ]
    )
    today = site_today(site_a.time_zone)
    FollowUp.objects.create(
        **form_kwargs(done, actor, visit="2w", visit_date=today - 2 * DAY)
    )
    # A draft follow-up does not make the visit done.
    FollowUp.objects.create(
        **form_kwargs(due, actor, status=FormStatus.DRAFT, visit="2w")
    )
    Baseline.objects.create(**form_kwargs(drafted, actor, status=FormStatus.DRAFT))
    baseline = Baseline.objects.create(**form_kwargs(queried, actor))
    DataQuery.objects.bulk_create(
        [
            query_on(baseline, users["datamanager"]),
            query_on(baseline, users["datamanager"], DataQuery.Status.CLOSED),
        ]
    )
    return {
        "overdue": overdue.study_id,
        "due": due.study_id,
        "done": done.study_id,
        "opening": opening.study_id,
        "drafted": drafted.study_id,
        "queried": queried.study_id,
        "elsewhere": elsewhere.study_id,
    }


def rows_of(response):
    return sorted((t.kind, t.study_id) for t in response.context["page"])


@pytest.mark.django_db
def test_site_dashboard_lists_exactly_what_needs_doing(client, users, cohort):
    client.force_login(users["coordinator"])
    response = client.get(reverse("dashboards:site"))
    assert response.status_code == 200
    assert rows_of(response) == sorted(
        [
            ("overdue", cohort["overdue"]),
            ("due", cohort["due"]),
            ("opening", cohort["opening"]),
            ("draft", cohort["due"]),  # the draft 2-week follow-up
            ("draft", cohort["drafted"]),
            ("query", cohort["queried"]),
        ]
    )
    body = response.content.decode()
    assert reverse("participant_detail", args=[cohort["overdue"]]) in body
    assert cohort["done"] not in body
    assert cohort["elsewhere"] not in body


@pytest.mark.django_db
def test_other_sites_coordinator_sees_only_their_own_site(client, users, cohort):
    client.force_login(users["coordinator2"])
    response = client.get(reverse("dashboards:site"))
    assert rows_of(response) == [("overdue", cohort["elsewhere"])]


@pytest.mark.django_db
def test_methods_centre_sees_all_sites_and_can_filter_by_site_and_kind(
    client, users, cohort
):
    client.force_login(users["datamanager"])
    everything = rows_of(client.get(reverse("dashboards:site")))
    assert ("overdue", cohort["elsewhere"]) in everything
    assert len(everything) == 7
    only_b = rows_of(client.get(reverse("dashboards:site"), {"site": "HAM"}))
    assert only_b == [("overdue", cohort["elsewhere"])]
    overdue = rows_of(client.get(reverse("dashboards:site"), {"kind": "overdue"}))
    assert overdue == sorted(
        [("overdue", cohort["overdue"]), ("overdue", cohort["elsewhere"])]
    )


@pytest.mark.django_db
def test_site_dashboard_sorts_by_date_or_study_id(client, users, cohort):
    client.force_login(users["coordinator"])
    by_id = client.get(reverse("dashboards:site"), {"sort": "study_id"})
    ids = [t.study_id for t in by_id.context["page"]]
    assert ids == sorted(ids)
    by_date = client.get(reverse("dashboards:site"), {"sort": "date"})
    dates = [t.date for t in by_date.context["page"]]
    assert dates == sorted(dates)


@pytest.mark.django_db
def test_site_dashboard_is_paginated(client, users, site_a):
    actor = users["coordinator"]
    people = participants_add(site_a, 60, actor=actor)
    Operative.objects.bulk_create(operated(p, actor, 23) for p in people)
    client.force_login(actor)
    first = client.get(reverse("dashboards:site"))
    assert len(first.context["page"]) == 50
    assert first.context["page"].paginator.count == 60
    second = client.get(reverse("dashboards:site"), {"page": 2})
    assert len(second.context["page"]) == 10
    first_ids = [t.study_id for t in first.context["page"]]
    second_ids = [t.study_id for t in second.context["page"]]
    assert sorted(first_ids + second_ids) == sorted(p.study_id for p in people)
    # A page past the end shows the last one; a page that is not a number, the
    # first.
    past = client.get(reverse("dashboards:site"), {"page": 9})
    assert [t.study_id for t in past.context["page"]] == second_ids
    assert past.context["page"].number == 2
    wrong = client.get(reverse("dashboards:site"), {"page": "x"})
    assert [t.study_id for t in wrong.context["page"]] == first_ids


@pytest.mark.django_db
def test_site_tasks_use_the_site_date_given(users, cohort, site_a):
    later = site_today(site_a.time_zone) + 30 * DAY
    tasks = dashboard.site_tasks(
        user=users["coordinator"], today_by_site={"TOR": later}
    )
    visits = sorted((t.kind, t.study_id) for t in tasks[:] if t.window_start)
    # A month on (days since surgery: overdue 53, due 42, done 45, opening 35)
    # every 2-week window (days 10-21) has closed and every 6-week one (days
    # 35-56) is open; the done 2-week visit stays done; site B is not this
    # coordinator's.
    assert visits == sorted(
        [
            ("overdue", cohort["overdue"]),
            ("overdue", cohort["due"]),
            ("overdue", cohort["opening"]),
            ("due", cohort["overdue"]),
            ("due", cohort["due"]),
            ("due", cohort["done"]),
            ("due", cohort["opening"]),
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["coordinator", "investigator", "dsmb", "admin"])
def test_data_quality_is_for_the_methods_centre_only(client, users, role):
    client.force_login(users[role])
    assert client.get(reverse("dashboards:data_quality")).status_code == 403


@pytest.mark.django_db
def test_data_quality_counts_per_site_and_visit(client, users, site_a, cohort):
    actor = users["coordinator"]
    today = site_today(site_a.time_zone)
    # Three more 2-week visits done at site A, entered 2, 3 and 10 days late.
    late = participants_add(site_a, 3, actor=actor)
    Operative.objects.bulk_create(operated(p, actor, 30) for p in late)
    visit_date = today - 16 * DAY
    FollowUp.objects.bulk_create(
        follow_up(p, actor, "2w", visit_date, entered=visit_date + days * DAY)
        for p, days in zip(late, (2, 3, 10), strict=True)
    )
    client.force_login(users["datamanager"])
    response = client.get(reverse("dashboards:data_quality"))
    assert response.status_code == 200
    sites = {s.site_code: s for s in response.context["sites"]}
    two_weeks = sites["TOR"].visits[0]
    assert two_weeks.visit_code == "2w"
    # overdue, due, done (entered on its visit date) and the three late ones;
    # the one opening in 5 days is not expected yet.
    assert (two_weeks.expected, two_weeks.complete) == (6, 4)
    assert (two_weeks.due, two_weeks.overdue) == (1, 1)
    # The cohort's done visit has no completion time: not in the median.
    assert two_weeks.median_entry_days == 3
    assert sites["TOR"].open_queries == 1
    assert sites["TOR"].participants == 7
    assert sites["HAM"].visits[0].overdue == 1
    assert sites["HAM"].open_queries == 0
    assert [v.expected for v in sites["TOR"].visits[1:]] == [0] * 5


@pytest.mark.django_db
def test_data_quality_median_entry_delay(client, users, site_a):
    actor = users["coordinator"]
    today = site_today(site_a.time_zone)
    late = participants_add(site_a, 3, actor=actor)
    Operative.objects.bulk_create(operated(p, actor, 30) for p in late)
    visit_date = today - 16 * DAY
    FollowUp.objects.bulk_create(
        follow_up(p, actor, "2w", visit_date, entered=visit_date + days * DAY)
        for p, days in zip(late, (2, 3, 10), strict=True)
    )
    client.force_login(users["statistician"])
    response = client.get(reverse("dashboards:data_quality"), {"site": "TOR"})
    (site,) = response.context["sites"]
    assert site.visits[0].median_entry_days == 3
    assert 'data-col="median-entry-days">3<' in response.content.decode()


# ---------------------------------------------------------------------------
# Must-show 6: query counts do not grow with participants or forms
# ---------------------------------------------------------------------------
def cohort_with_follow_up(users, site_a, site_b, count):
    """``count`` participants over both sites, each operated on 200 days ago
    with the 2w, 6w, 4m and 6m visits done, a draft baseline and an open query."""
    actor = users["coordinator"]
    people = participants_add(site_a, count // 2, actor=actor) + participants_add(
        site_b, count - count // 2, actor=actor
    )
    for p in people:
        p.site = site_a if p.site_id == site_a.pk else site_b
    Operative.objects.bulk_create(operated(p, actor, 200) for p in people)
    follow_ups = []
    for p in people:
        surgery = site_today(p.site.time_zone) - 200 * DAY
        for visit, day in (("2w", 14), ("6w", 42), ("4m", 120), ("6m", 183)):
            follow_ups.append(follow_up(p, actor, visit, surgery + day * DAY))
    FollowUp.objects.bulk_create(follow_ups)
    baselines = Baseline.objects.bulk_create(
        Baseline(**form_kwargs(p, actor, status=FormStatus.DRAFT)) for p in people
    )
    DataQuery.objects.bulk_create(query_on(b, users["datamanager"]) for b in baselines)
    return people


def queries_for(client, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), ctx.captured_queries


@pytest.mark.django_db
def test_page_query_counts_do_not_grow_with_participants(client, users, site_a, site_b):
    first = cohort_with_follow_up(users, site_a, site_b, 10)[0]
    pages = [
        ("coordinator", reverse("dashboards:site"), {}),
        ("datamanager", reverse("dashboards:site"), {}),
        (
            "datamanager",
            reverse("dashboards:site"),
            {"site": "TOR", "sort": "study_id"},
        ),
        ("coordinator", reverse("participant_detail", args=[first.study_id]), {}),
        ("datamanager", reverse("dashboards:data_quality"), {}),
    ]

    def counts():
        result = []
        for role, url, params in pages:
            client.force_login(users[role])
            result.append(queries_for(client, url, **params))
        return result

    few = counts()
    cohort_with_follow_up(users, site_a, site_b, 190)
    assert Participant.objects.count() == 200
    many = counts()
    for (role, url, _params), (n_few, q_few), (n_many, q_many) in zip(
        pages, few, many, strict=True
    ):
        assert n_few == n_many, (
            f"{role} {url}: {n_few} queries at 10 participants, {n_many} at 200:\n"
            + "\n".join(q["sql"][:300] for q in q_many[len(q_few) :])
        )


@pytest.mark.django_db
def test_dashboard_and_quality_of_sites_with_no_participants_are_empty(client, users):
    client.force_login(users["coordinator2"])
    response = client.get(reverse("dashboards:site"))
    assert response.status_code == 200
    assert list(response.context["page"]) == []
    assert "Nothing to do." in response.content.decode()
    client.force_login(users["datamanager"])
    response = client.get(reverse("dashboards:data_quality"))
    assert response.status_code == 200
    assert [s.participants for s in response.context["sites"]] == [0, 0]
