"""The central monitoring page in Chromium: on a phone (390 px) the wide
summary table scrolls inside its ``.table-responsive`` box while the page
does not scroll sideways; on a laptop (1366 px) every funnel plot loads as
an image; no console error (CSP) either way. With LAYOUT_SHOTS set, the
screenshots are saved for a person to look at."""

import pytest

from tests.e2e.conftest import console_problems
from tests.e2e.test_layout import LAPTOP, PHONE, SIDEWAYS_SCROLL, open_as, shoot
from tests.outcomes.monitoring.test_indicators import AS_OF, trial  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows", "trial"),
]

PAGE = f"/monitoring/?as_of={AS_OF:%Y-%m-%d}"
# The summary table's box: how wide its content is and how wide it shows.
SUMMARY_BOX = """() => {
  const box = document.querySelector("#monitoring-summary").parentElement;
  return {
    responsive: box.classList.contains("table-responsive"),
    content: box.scrollWidth,
    shown: box.clientWidth,
  };
}"""
# Every funnel plot on the page, and how many of them decoded as images.
PLOTS_LOADED = """() => {
  const plots = [...document.querySelectorAll("img.funnel-plot")];
  return { plots: plots.length, loaded: plots.filter(
    (img) => img.complete && img.naturalWidth > 0).length };
}"""


def test_the_summary_table_scrolls_in_its_box_on_a_phone(
    new_page, live_server, password
):
    page = open_as(new_page, live_server, password, "datamanager", PHONE)
    problems = console_problems(page)
    response = page.goto(f"{live_server.url}{PAGE}")

    assert response.status == 200
    widths = page.evaluate(SIDEWAYS_SCROLL)
    box = page.evaluate(SUMMARY_BOX)
    shoot(page, "monitoring-390")
    assert widths["document"] <= widths["viewport"], widths
    assert box["responsive"]
    assert box["content"] > box["shown"], box  # nine indicators do not fit
    assert problems == []


def test_every_funnel_plot_loads_on_a_laptop(new_page, live_server, password):
    page = open_as(new_page, live_server, password, "statistician", LAPTOP)
    problems = console_problems(page)
    page.goto(f"{live_server.url}{PAGE}")
    # Lazy images below the fold load once scrolled to.
    for plot in page.locator("img.funnel-plot").all():
        plot.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.funnel-plot')]"
        ".every((img) => img.complete)"
    )

    loaded = page.evaluate(PLOTS_LOADED)
    shoot(page, "monitoring-1366")
    assert loaded == {"plots": 9, "loaded": 9}
    assert page.evaluate(SIDEWAYS_SCROLL)["document"] <= LAPTOP["width"]
    assert problems == []
