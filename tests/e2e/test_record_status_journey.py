"""Journey (issue 15, must-show 1(e)): a coordinator opens the record status
grid from the menu, filters it, clicks one participant's 6-week follow-up
cell and lands on exactly that form. And the grid on a phone: the table
scrolls inside its box, the page does not, the study ID column stays put."""

import datetime

import pytest
from playwright.sync_api import expect

from crf.models import FollowUp, Operative
from crf.schedule.visits import site_today
from tests.crf.bulk import form_kwargs, participants_add
from tests.e2e.conftest import console_problems, login
from tests.e2e.test_layout import LAPTOP, PHONE, SIDEWAYS_SCROLL, shoot

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

DAY = datetime.timedelta(days=1)


@pytest.fixture
def followed_up(users, site_a, site_b):
    """Site A: three participants operated on 60 days ago (the 6-week window,
    days 35–56, has closed): the first two have their 2-week visit done and the
    6-week one overdue, the third has both done. Site B: one more, overdue."""
    actor = users["coordinator"]
    people = participants_add(site_a, 3, actor=actor)
    (elsewhere,) = participants_add(site_b, 1, actor=users["coordinator2"])
    surgery = {p.pk: site_today(p.site.time_zone) - 60 * DAY for p in people}
    surgery[elsewhere.pk] = site_today(site_b.time_zone) - 60 * DAY
    Operative.objects.bulk_create(
        Operative(**form_kwargs(p, actor, surgery_date=surgery[p.pk]))
        for p in [*people, elsewhere]
    )
    done = [(p, "2w", 14) for p in people] + [(people[2], "6w", 42)]
    FollowUp.objects.bulk_create(
        FollowUp(
            **form_kwargs(
                p,
                actor,
                visit=visit,
                visit_date=surgery[p.pk] + day * DAY,
                vital_status="alive",
            )
        )
        for p, visit, day in done
    )
    return people, elsewhere


def rows(page):
    return page.locator("#record-status-grid tbody tr[data-study-id]")


def test_coordinator_opens_the_right_form_from_the_grid(
    new_page, live_server, password, followed_up
):
    (first, second, third), elsewhere = followed_up
    page = new_page()
    page.set_viewport_size(LAPTOP)
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)

    menu = page.get_by_role("navigation", name="Main navigation")
    with page.expect_navigation():
        menu.get_by_role("link", name="Record status", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/record-status/")
    expect(page.locator("#grid-legend")).to_contain_text("Overdue")
    # Site A only: the coordinator never sees site B's participant.
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#result-count")).to_have_text("3 participants")
    shoot(page, "record-status-1366")
    # On a laptop a one-site coordinator's grid fits without scrolling.
    box = page.locator(".table-responsive")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")
    expect(page.locator(f'tr[data-study-id="{elsewhere.study_id}"]')).to_have_count(0)

    # Those with an overdue visit: the third is up to date.
    page.select_option("#id_status", "overdue")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(0)).to_have_attribute("data-study-id", first.study_id)
    expect(rows(page).nth(1)).to_have_attribute("data-study-id", second.study_id)

    # Narrowed to the second participant by part of the study ID.
    page.fill("#id_q", second.study_id[-4:])
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#id_status")).to_have_value("overdue")  # still applied

    row = page.locator(f'tr[data-study-id="{second.study_id}"]')
    done = row.locator('a[data-column="2w"]')
    expect(done).to_have_attribute("data-state", "complete")
    expect(done).to_contain_text("complete")
    cell = row.locator('a[data-column="6w"]')
    expect(cell).to_have_attribute("data-state", "overdue")
    expect(cell).to_contain_text("overdue")  # in words, not only in colour
    with page.expect_navigation():
        cell.click()

    expect(page).to_have_url(
        f"{live_server.url}/participants/{second.study_id}/forms/follow-up/6w/"
    )
    expect(page.locator("#form-title")).to_have_text(
        f"Follow-up visit: 6 weeks · {second.study_id}"
    )
    assert problems == []


def test_the_grid_scrolls_inside_its_box_on_a_phone(
    new_page, live_server, password, followed_up
):
    (first, _second, _third), _elsewhere = followed_up
    page = new_page()
    page.set_viewport_size(PHONE)
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    page.goto(f"{live_server.url}/record-status/")
    expect(rows(page)).to_have_count(3)

    widths = page.evaluate(SIDEWAYS_SCROLL)
    shoot(page, "record-status-390")
    assert widths["document"] <= widths["viewport"], widths
    assert widths["body"] <= widths["viewport"], widths
    box = page.locator(".table-responsive")
    table_width = page.locator("#record-status-grid").evaluate("t => t.scrollWidth")
    assert table_width > widths["viewport"]  # the grid is wider: its box scrolls

    # Scrolled to the last column, the study ID is still at the left edge.
    study_id = page.locator(f'tr[data-study-id="{first.study_id}"] th')
    study_id.scroll_into_view_if_needed()
    left = study_id.bounding_box()["x"]
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    expect(
        page.locator(
            f'tr[data-study-id="{first.study_id}"] a[data-column="withdrawal"]'
        )
    ).to_be_in_viewport()
    assert abs(study_id.bounding_box()["x"] - left) < 1
    assert problems == []
