"""The data-quality view's questionnaire completion table on a phone (390 px):
the wide site × visit table scrolls inside its own box, never the page, and
shows the hand-built trial's figures."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crf.schedule.visits import site_today
from tests.crf.epro.completion_trial import LABELS, prom_trial_build
from tests.e2e.conftest import console_problems
from tests.e2e.test_layout import PHONE, SIDEWAYS_SCROLL, open_as, shoot

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]


def test_completion_table_fits_a_phone(
    new_page, live_server, password, users, site_a, site_b
):
    prom_trial_build(
        users, site_a, site_b, today=lambda site: site_today(site.time_zone)
    )
    page = open_as(new_page, live_server, password, "datamanager", PHONE)
    problems = console_problems(page)
    response = page.goto(live_server.url + reverse("dashboards:data_quality"))
    assert response.status == 200
    table = page.locator("#prom-completion table.prom-completion-table")
    expect(table).to_be_visible()
    assert table.evaluate("t => t.parentElement.classList.contains('table-responsive')")
    expect(page.locator('#prom-completion tr[data-prom-site="all"]')).to_contain_text(
        LABELS["all", "all"]
    )
    widths = page.evaluate(SIDEWAYS_SCROLL)
    page.locator("#prom-completion").scroll_into_view_if_needed()
    shoot(page, "data-quality-proms-390")
    assert widths["document"] <= widths["viewport"], widths
    assert widths["body"] <= widths["viewport"], widths
    assert problems == []
