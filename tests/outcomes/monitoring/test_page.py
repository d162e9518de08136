"""The central monitoring page and its funnel plots (PROTOCOL §14): what the
page shows for the hand-built trial of ``test_indicators`` (values, z and
flags worked out by hand below), red and amber flags shown in words, the
date form's errors, who may see it, and a query count that does not grow
with the trial."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crf.models import AdverseEvent
from outcomes.monitoring import page as monitoring_page_module
from outcomes.monitoring.funnel import SiteCounts
from outcomes.monitoring.indicators import INDICATORS
from tests.outcomes.monitoring.test_indicators import (  # noqa: F401 (fixture)
    AS_OF,
    UTC,
    at,
    form,
    query,
    trial,
)

D = datetime.date
PAGE = "/monitoring/"
AS_OF_TEXT = AS_OF.isoformat()  # 2026-06-30


def page_for(client, user, **params):
    client.force_login(user)
    return client.get(PAGE, params)


def text(fragment: str) -> str:
    """The words of an HTML fragment: tags dropped, white space collapsed."""
    words = re.sub(r"<[^>]+>", "", re.sub(r"<br>", " ", fragment))
    return " ".join(words.split())


def summary_cell(html: str, site: str, code: str) -> tuple[str, str]:
    """(the words, the data-flag) of a site's cell in the summary table."""
    summary = html.split('id="monitoring-summary"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<tr data-site="{site}">(.*?)</tr>', summary, re.S).group(1)
    cell = re.search(
        rf'<td data-indicator="{code}" data-flag="([^"]*)">(.*?)</td>', row, re.S
    )
    return text(cell.group(2)), cell.group(1)


def study_value_line(html: str, code: str) -> str:
    values = html.split('id="study-values"', 1)[1].split("</ul>", 1)[0]
    return text(re.search(rf'<li data-indicator="{code}">(.*?)</li>', values, re.S)[1])


# Hand values on AS_OF for the trial of test_indicators (its EXPECTED and
# EXPOSURE): TOR 4 participants, 649 days = 649 / 30.4375 = 21.3224
# patient-months; HAM 2 participants, 110 days = 3.61396 patient-months, so
# HAM may never be flagged ("2 participants (fewer than 3)") and TOR is the
# only site in φ: φ = z_TOR², below 1 whenever |z_TOR| < 1, then not applied
# (adjusted z = z).
#
# AE rate: TOR 3 / 21.3224 = 0.140697 per month → 14.1 per 100 patient-months;
#   HAM 1 / 3.61396 = 0.276706 → 27.7. Study θ0 = 4 / 24.9363 = 0.160408
#   → 16.0 per 100 patient-months.
#   z_TOR = (0.140697 − 0.160408) / sqrt(0.160408 / 21.3224)
#         = −0.019711 / 0.086735 = −0.23 (φ = 0.0516: "φ = 0.05", not applied)
#   z_HAM = (0.276706 − 0.160408) / sqrt(0.160408 / 3.61396)
#         = 0.116298 / 0.210680 = 0.55
# Query rate: TOR 6 / 11 = 54.5 per 100 forms, HAM 2 / 3 = 66.7.
# Late entry: TOR 3 / 7 = 43%, HAM 1 / 2 = 50%.
# Screen failures: TOR 1 / 6 = 17%, HAM 1 / 3 = 33%.
# PROM completion: TOR 1 / 7 = 14%; HAM 0 / 0: no value, "no data".
@pytest.mark.django_db
@pytest.mark.usefixtures("trial")
def test_page_shows_each_sites_values_z_and_flags_for_the_trial(client, users):
    response = page_for(client, users["datamanager"], as_of=AS_OF_TEXT)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Summary on 2026-06-30" in html
    rows = re.findall(r'<tr data-site="([A-Z]+)">', html.split("</table>", 1)[0])
    assert rows == ["HAM", "TOR"]

    words, flag = summary_cell(html, "TOR", "ae_rate")
    assert words == "14.1 per 100 patient-months 3 / 21.3 z -0.23 no flag"
    assert flag == "none"
    words, flag = summary_cell(html, "HAM", "ae_rate")
    assert words == "27.7 per 100 patient-months 1 / 3.6 z 0.55 too little data"
    assert flag == "too little data"
    assert study_value_line(html, "ae_rate") == (
        "Adverse events: study value 16.0 per 100 patient-months; "
        "φ = 0.05, not applied (φ ≤ 1)"
    )
    expected_values = {
        ("TOR", "query_rate"): "54.5 per 100 forms 6 / 11",
        ("HAM", "query_rate"): "66.7 per 100 forms 2 / 3",
        ("TOR", "late_entry"): "43% 3 / 7",
        ("HAM", "late_entry"): "50% 1 / 2",
        ("TOR", "screen_failure"): "17% 1 / 6",
        ("HAM", "screen_failure"): "33% 1 / 3",
        ("TOR", "prom_completion"): "14% 1 / 7",
        ("HAM", "prom_completion"): "– 0 / 0 z – too little data",
    }
    for (site, code), start in expected_values.items():
        words, _flag = summary_cell(html, site, code)
        assert words.startswith(start), (site, code, words)
    # Every HAM cell says why it is not judged, in the indicator's section.
    ae_section = html.split('id="indicator-ae_rate"', 1)[1].split("</section>")[0]
    assert "2 participants (fewer than 3)" in text(ae_section)
    # One funnel plot per indicator with data, at the page's date; PROM
    # completion has data at TOR only, still a plot.
    for indicator in INDICATORS:
        assert f"/monitoring/funnel/{indicator.code}.png?as_of=2026-06-30" in html
    # Terminal digits: 3 EQ VAS values at TOR, 1 at HAM: too few to test.
    digits = html.split('id="digits-eq_vas"', 1)[1].split("</table>", 1)[0]
    assert 'data-site="TOR" data-flag="too little data"' in digits
    assert "3 values (fewer than 20)" in text(digits)


# The proportion worked example of test_funnel.py (computed by hand there):
# θ0 = 126 / 630 = 20%, φ = 3; adjusted z: A 6/√3 = 3.46 (red, high),
# B −3.5/√3 = −2.02 (amber, low), C 1/√3 = 0.58 (no flag).
PROPORTION_SITES = [
    SiteCounts("A", 44, 100, participants=10, exposure_days=300),
    SiteCounts("B", 52, 400, participants=20, exposure_days=300),
    SiteCounts("C", 16, 64, participants=8, exposure_days=300),
    SiteCounts("D", 4, 25, participants=5, exposure_days=300),
    SiteCounts("E", 4, 16, participants=4, exposure_days=300),
    SiteCounts("F", 6, 25, participants=5, exposure_days=300),
]


@pytest.mark.django_db
def test_red_and_amber_flags_read_in_words_as_well_as_colour(
    client, users, monkeypatch
):
    monkeypatch.setattr(
        monitoring_page_module,
        "site_indicator_counts",
        lambda **_: {i.code: PROPORTION_SITES for i in INDICATORS},
    )
    response = page_for(client, users["statistician"], as_of=AS_OF_TEXT)

    html = response.content.decode()
    assert summary_cell(html, "A", "old_open_queries") == (
        "44% 44 / 100 z 3.46 red (high)",
        "red",
    )
    assert summary_cell(html, "B", "old_open_queries") == (
        "13% 52 / 400 z -2.02 amber (low)",
        "amber",
    )
    assert summary_cell(html, "C", "old_open_queries") == (
        "25% 16 / 64 z 0.58 no flag",
        "none",
    )
    assert study_value_line(html, "old_open_queries") == (
        "Queries open over 30 days: study value 20%; φ = 3.00, z divided by √φ"
    )
    summary = html.split('id="monitoring-summary"', 1)[1]
    assert '<span class="badge text-bg-danger kri-flag">red (high)</span>' in summary
    assert '<span class="badge text-bg-warning kri-flag">amber (low)</span>' in (
        summary
    )


@pytest.mark.django_db
def test_without_a_date_the_page_shows_today(client, users):
    today = timezone.localdate()
    response = page_for(client, users["datamanager"])

    assert response.status_code == 200
    assert f"Summary on {today:%Y-%m-%d}" in response.content.decode()
    assert f'value="{today:%Y-%m-%d}"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("future", "The date cannot be in the future"),
        ("2026-13-45", "Enter a date as YYYY-MM-DD."),
        ("yesterday", "Enter a date as YYYY-MM-DD."),
        ("", "Enter the date the indicators are computed on."),
    ],
)
def test_a_bad_date_is_a_form_error_not_a_500(client, users, as_of, message):
    if as_of == "future":
        as_of = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    response = page_for(client, users["datamanager"], as_of=as_of)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert message in html
    assert 'id="monitoring-summary"' not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("trial")
def test_funnel_plot_is_a_private_png(client, users):
    client.force_login(users["statistician"])
    response = client.get("/monitoring/funnel/ae_rate.png", {"as_of": AS_OF_TEXT})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_funnel_plot_of_an_unknown_indicator_is_404_and_a_bad_date_400(client, users):
    client.force_login(users["datamanager"])
    assert client.get("/monitoring/funnel/no_such_kri.png").status_code == 404
    bad = client.get("/monitoring/funnel/ae_rate.png", {"as_of": "2026-02-30"})
    assert bad.status_code == 400
    # No site has exposure in an empty trial: no funnel to draw.
    assert client.get("/monitoring/funnel/ae_rate.png").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("datamanager", 200),
        ("statistician", 200),
        ("coordinator", 403),
        ("investigator", 403),
        ("randomizer", 403),
        ("dsmb", 403),
    ],
)
def test_only_the_data_manager_and_the_statistician_may_see_it(
    client, users, role, status
):
    client.force_login(users[role])
    assert client.get(PAGE).status_code == status
    # The permission is checked before the indicator code is looked up.
    png = client.get("/monitoring/funnel/no_such_kri.png")
    assert png.status_code == (404 if status == 200 else 403)


@pytest.mark.django_db
@pytest.mark.usefixtures("trial")
def test_query_count_does_not_grow_with_participants(
    client, users, site_a, site_b, screen, randomize
):
    client.force_login(users["datamanager"])
    client.get(PAGE, {"as_of": AS_OF_TEXT})  # session and permissions warmed
    with CaptureQueriesContext(connection) as before:
        assert client.get(PAGE, {"as_of": AS_OF_TEXT}).status_code == 200
    for site, coordinator in [(site_a, "coordinator"), (site_b, "coordinator2")]:
        actor = users[coordinator]
        for _ in range(3):
            p = randomize(screen(actor, site), coordinator=actor, on=D(2026, 2, 1))
            ae = form(
                AdverseEvent,
                p,
                actor,
                term="y",
                serious=True,
                onset_date=D(2026, 2, 2),
                awareness_date=D(2026, 2, 2),
                completed=at(D(2026, 2, 3), 12, UTC),
            )
            query(p, ae, at(D(2026, 2, 4), 12, UTC))
    with CaptureQueriesContext(connection) as after:
        response = client.get(PAGE, {"as_of": AS_OF_TEXT})

    # The page read the new data: TOR now has 3 + 3 AEs over 649 + 3 × 149
    # days (1 Feb → 30 Jun: 28 + 31 + 30 + 31 + 29) = 1096 days
    # = 36.008 patient-months: 6 / 36.008 = 16.7 per 100 patient-months.
    words, _flag = summary_cell(response.content.decode(), "TOR", "ae_rate")
    assert words.startswith("16.7 per 100 patient-months 6 / 36.0")
    assert len(after) == len(before)
    # Counted on this page: the session and the user (2), the user's and the
    # groups' permissions (2), the indicators' ten, the digit values' sites
    # and two value lists (3), and the session's save in a savepoint (3).
    assert len(after) <= 20
