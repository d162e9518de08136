"""Questionnaire completion by site and visit (``crf.epro.completion``) on a
hand-built trial, on the Methods Centre's data-quality view, and in a query
count that does not grow with the participants (issue 16, must-show 5)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.epro.completion import MODES, prom_completion
from crf.models import Operative, PromResponse
from crf.schedule.visits import site_today
from perform.selectors import participants_for, participants_for_system
from tests.crf.bulk import form_kwargs, participants_add
from tests.crf.epro.completion_trial import (
    DAY,
    EXPECTED,
    LABELS,
    OPEN_NOW,
    prom_trial_build,
)
from tests.crf.epro.completion_trial import MODES as MODE_COUNTS

FIXED = datetime.date(2026, 6, 30)


def site_date(site):
    return site_today(site.time_zone)


@pytest.fixture
def trial(users, site_a, site_b):
    """The plan with each site's own date today as the reference date."""
    return prom_trial_build(users, site_a, site_b, today=site_date)


def label(table, site, visit):
    if site == "all":
        cell = table.total if visit == "all" else table.visit_total(visit)
    else:
        cell = table.site_total(site) if visit == "all" else table.cell(site, visit)
    return cell.label


@pytest.mark.django_db
def test_completion_matches_the_hand_counts(users, trial):
    table = prom_completion(scope=participants_for(users["datamanager"]))
    assert table.sites == ["HAM", "TOR"]
    assert [code for code, _label in table.visits] == [
        "bl",
        "2w",
        "6w",
        "4m",
        "6m",
        "9m",
        "12m",
    ]
    for (site, visit), (completed, expected) in EXPECTED.items():
        cell = table.cell(site, visit)
        assert (cell.completed, cell.expected) == (completed, expected), (site, visit)
    for key, text in LABELS.items():
        assert label(table, *key) == text, key
    # Nothing expected yet at 4 months and later: "—", not 0%.
    for site in ("TOR", "HAM"):
        for visit in ("4m", "6m", "9m", "12m"):
            assert table.cell(site, visit).label == "—"
    for site, counts in MODE_COUNTS.items():
        cell = table.total if site == "all" else table.site_total(site)
        assert tuple(cell.mode(m) for m in MODES) == counts, site
        assert sum(counts) == cell.completed
        assert cell.open_now == OPEN_NOW[site], site
    # TOR's open window is the 6-week one, HAM's the baseline.
    assert table.cell("TOR", "6w").open_now == 1
    assert table.cell("HAM", "bl").open_now == 1


@pytest.mark.django_db
def test_completion_keeps_to_the_scope(users, trial):
    coordinator = prom_completion(scope=participants_for(users["coordinator"]))
    assert coordinator.sites == ["TOR"]
    assert coordinator.total.label == LABELS["TOR", "all"]
    assert prom_completion(scope=participants_for(users["dsmb"])).sites == []


@pytest.mark.django_db
def test_completion_as_of_a_cutoff_leaves_out_what_came_after(users, site_a, site_b):
    prom_trial_build(users, site_a, site_b, today=lambda site: FIXED)
    scope = participants_for_system()
    now = prom_completion(scope=scope, as_of=FIXED)
    for key, text in LABELS.items():
        assert label(now, *key) == text, key
    # Five days earlier: the fifth TOR participant's 6-week answer (day 36,
    # four days before the reference date) is not in yet and its window is
    # open; the HAM participant operated on the reference date is not
    # operated yet, so has no baseline row.
    earlier = prom_completion(scope=scope, as_of=FIXED - 5 * DAY)
    assert earlier.cell("TOR", "6w").label == "1 / 2 (50%)"
    assert earlier.cell("TOR", "6w").open_now == 2
    assert earlier.cell("HAM", "bl").label == "2 / 4 (50%)"
    assert earlier.cell("HAM", "bl").open_now == 0
    assert earlier.cell("TOR", "bl").label == LABELS["TOR", "bl"]


@pytest.mark.django_db
def test_data_quality_page_shows_the_completion_table(client, users, trial):
    client.force_login(users["datamanager"])
    response = client.get(reverse("dashboards:data_quality"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patient-reported outcomes completion" in html
    for (site, visit), text in LABELS.items():
        if site != "all" and visit != "all":
            cell = f'data-prom-visit="{visit}">{text}</td>'
            row = html.split(f'data-prom-site="{site}"')[1].split("</tr>")[0]
            assert cell in row, (site, visit)
    footer = html.split('data-prom-site="all"')[1].split("</tr>")[0]
    for visit in ("bl", "2w", "6w"):
        assert LABELS["all", visit] in footer
    assert LABELS["all", "all"] in footer
    tor = html.split('data-prom-mode-site="TOR"')[1].split("</tr>")[0]
    assert 'data-col="link">3<' in tor
    assert 'data-col="tablet">3<' in tor
    assert 'data-col="paper">2<' in tor
    assert 'data-col="open-now">1<' in tor
    # The page counts in its forms query what the report counts alone: the
    # same cells, every site and visit.
    alone = prom_completion(
        scope=participants_for(users["datamanager"]), sites=["HAM", "TOR"]
    )
    assert response.context["completion"].as_rows() == alone.as_rows()
    # Filtered to one site: that site only.
    response = client.get(reverse("dashboards:data_quality"), {"site": "HAM"})
    assert response.context["completion"].sites == ["HAM"]
    html = response.content.decode()
    assert 'data-prom-site="TOR"' not in html
    assert LABELS["HAM", "all"] in html


@pytest.mark.django_db
def test_data_quality_page_is_not_for_site_staff(client, users, trial):
    """Site staff never reach the Methods Centre page; the function under their
    scope sees their own site only (``test_completion_keeps_to_the_scope``)."""
    client.force_login(users["coordinator"])
    assert client.get(reverse("dashboards:data_quality")).status_code == 403


def add_answered(users, site_a, site_b, count):
    """``count`` participants over both sites, operated 50 days ago (6-week
    window open), each with the baseline and 2-week questionnaires submitted."""
    actor = users["coordinator"]
    people = participants_add(site_a, count // 2, actor=actor) + participants_add(
        site_b, count - count // 2, actor=actor
    )
    operatives, responses = [], []
    for p in people:
        site = site_a if p.site_id == site_a.pk else site_b
        surgery = site_date(site) - 50 * DAY
        operatives.append(Operative(**form_kwargs(p, actor, surgery_date=surgery)))
        at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        for visit in ("bl", "2w"):
            responses.append(
                PromResponse(
                    participant=p,
                    visit=visit,
                    mode="paper",
                    language="en",
                    status="submitted",
                    started_at=at,
                    last_saved_at=at,
                    submitted_at=at,
                )
            )
    Operative.objects.bulk_create(operatives)
    PromResponse.objects.bulk_create(responses)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_participants(client, users, site_a, site_b):
    scope = participants_for(users["datamanager"])
    client.force_login(users["datamanager"])

    def counts():
        with CaptureQueriesContext(connection) as direct:
            table = prom_completion(scope=scope)
        with CaptureQueriesContext(connection) as page:
            assert client.get(reverse("dashboards:data_quality")).status_code == 200
        return len(direct), len(page), table.total

    add_answered(users, site_a, site_b, 10)
    direct_few, page_few, few = counts()
    add_answered(users, site_a, site_b, 50)
    direct_many, page_many, many = counts()
    assert (few.completed, few.expected, few.open_now) == (20, 20, 10)
    assert (many.completed, many.expected, many.open_now) == (120, 120, 60)
    assert direct_few == direct_many == 2
    assert page_few == page_many
