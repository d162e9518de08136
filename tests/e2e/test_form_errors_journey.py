"""Must-show 1(a) of issue 15: a coordinator fills the baseline with two
invalid values, sees the error summary at the top, follows its links to each
field, fixes both and saves the form as complete; the scores shown live
before saving are the stored ones (in the database and on the read-only page).
Also: errors of radio groups are visible and their summary links land on the
group, on the CRF forms and on the screening form."""

import datetime

import pytest
from playwright.sync_api import Page, expect

from crf.models import Baseline, FormStatus
from crf.schedule.visits import site_today
from perform.models import EligibilityCriterion
from perform.screening import AGE_CRITERION
from tests.e2e.conftest import console_problems, login
from tests.e2e.test_crf_journey import fill_baseline, radio, save_complete

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

HAEMOGLOBIN_ERROR = "Ensure this value is less than or equal to 200."
VAS_ERROR = "Ensure this value is less than or equal to 100."
# The parts of each live score, as the page prints them.
SCORE_PARTS = {
    "mirels": ("total", "note"),
    "msts": ("total", "percent"),
    "tess": ("score",),
    "eq5d": ("profile",),
    "bpi": ("interference",),
}
# Some TESS items answered (the others left "not applicable").
TESS = {"tess_1": "4", "tess_2": "5", "tess_7": "2", "tess_12": "3", "tess_30": "1"}


def days_ago(n: int) -> datetime.date:
    return site_today("America/Toronto") - datetime.timedelta(days=n)


@pytest.fixture
def screened(users, site_a, screen):
    """A participant at site A screened 30 days ago: the baseline is open."""
    return screen(users["coordinator"], site_a, screening_date=days_ago(30))


def scores_shown(page: Page, prefix: str) -> dict[str, str]:
    """Every part of every score block (``score`` live, ``stored-score``)."""
    return {
        f"{key}.{part}": page.locator(
            f"#{prefix}-{key} [data-part={part}]"
        ).inner_text()
        for key, parts in SCORE_PARTS.items()
        for part in parts
    }


def follow_summary_link(page: Page, label: str) -> None:
    summary = page.locator("#error-summary")
    summary.scroll_into_view_if_needed()
    summary.get_by_role("link", name=label).click()


def test_coordinator_follows_the_summary_fixes_two_values_and_sees_the_stored_scores(
    new_page, live_server, users, password, screened
):
    baseline_url = f"{live_server.url}/participants/{screened.study_id}/forms/baseline/"
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    page.goto(baseline_url)

    # Two invalid values: haemoglobin and EQ VAS out of their ranges, which
    # the page shows beside them.
    fill_baseline(page, eq5d_vas="101")
    for name, value in TESS.items():
        page.check(radio(name, value))
    expect(page.locator("#id_haemoglobin_g_l_helptext")).to_have_text("40–200 g/L")
    page.fill("#id_haemoglobin_g_l", "300")

    # The scores as the coordinator answers (before any save).
    live = scores_shown(page, "score")
    assert live == {
        "mirels.total": "10",
        "mirels.note": "≥ 9: impending fracture",
        "msts.total": "15",
        "msts.percent": "50.0",
        "tess.score": "50.0",
        "eq5d.profile": "23142",
        "bpi.interference": "4.00",
    }
    page.check(radio("msts_gait", "5"))  # the score follows the answer
    expect(page.locator("#score-msts [data-part=total]")).to_have_text("17")
    expect(page.locator("#score-msts [data-part=percent]")).to_have_text("56.7")
    live = scores_shown(page, "score")

    save_complete(page)

    # The summary, at the top and in view, names both fields.
    expect(page).to_have_url(baseline_url)
    summary = page.locator("#error-summary")
    expect(summary).to_be_in_viewport()
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(summary).to_contain_text(f"Haemoglobin (g/L) †: {HAEMOGLOBIN_ERROR}")
    expect(summary).to_contain_text(f"EQ VAS †: {VAS_ERROR}")
    assert not Baseline.objects.exists()
    # Every answer is kept, so the live scores are the same again.
    assert scores_shown(page, "score") == live

    follow_summary_link(page, "Haemoglobin (g/L) †")
    haemoglobin = page.locator("#id_haemoglobin_g_l")
    expect(haemoglobin).to_be_focused()
    expect(haemoglobin).to_be_in_viewport()
    expect(page.locator("#div_id_haemoglobin_g_l")).to_contain_text(HAEMOGLOBIN_ERROR)
    haemoglobin.fill("118")

    follow_summary_link(page, "EQ VAS †")
    vas = page.locator("#id_eq5d_vas")
    expect(vas).to_be_focused()
    expect(vas).to_be_in_viewport()
    expect(page.locator("#div_id_eq5d_vas")).to_contain_text(VAS_ERROR)
    vas.fill("50")

    save_complete(page)
    expect(page.get_by_role("alert")).to_contain_text(
        "Baseline saved as Complete (version 1)."
    )
    baseline = Baseline.objects.get(participant=screened)
    assert baseline.status == FormStatus.COMPLETE
    assert (baseline.haemoglobin_g_l, baseline.eq5d_vas) == (118, 50)
    stored = {
        "mirels.total": str(baseline.mirels_total),
        "mirels.note": "≥ 9: impending fracture" if baseline.mirels_total >= 9 else "",
        "msts.total": str(baseline.msts_total),
        "msts.percent": str(baseline.msts_percent),
        "tess.score": str(baseline.tess_score),
        "eq5d.profile": baseline.eq5d_profile,
        "bpi.interference": str(baseline.bpi_interference),
    }
    assert stored == live
    assert problems == []

    # The data manager reads the form (read-only) with its stored scores.
    manager = new_page()
    login(manager, live_server, "datamanager", password)
    manager.goto(baseline_url)
    expect(manager.locator("#read-only-form")).to_be_visible()
    assert scores_shown(manager, "stored-score") == live


def test_radio_group_errors_are_visible_and_their_links_land_on_the_group(
    new_page, live_server, users, password, screened
):
    """Required items left unanswered: a Mirels radio group and a BPI row of
    the matrix."""
    page = new_page()
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    page.goto(f"{live_server.url}/participants/{screened.study_id}/forms/baseline/")
    fill_baseline(page, eq5d_vas="50")
    page.check(radio("mirels_site", ""))
    page.check(radio("bpi_worst", ""))
    save_complete(page)

    summary = page.locator("#error-summary")
    expect(summary).to_be_in_viewport()
    for group, label in (
        ("mirels_site", "Mirels: site †"),
        ("bpi_worst", "BPI worst pain †"),
    ):
        feedback = page.locator(f"#div_id_{group} .invalid-feedback")
        expect(feedback).to_be_visible()
        expect(feedback).to_have_text("Required for a complete form.")
        follow_summary_link(page, label)
        # The focus is on the group's chosen option (here "not answered").
        expect(page.locator(radio(group, ""))).to_be_focused()
        expect(page.locator(f"#div_id_{group}")).to_be_in_viewport()
    assert problems == []


def test_a_screening_criterion_error_is_visible_and_linked_from_the_summary(
    new_page, live_server, users, password
):
    """The age criterion answered "yes" with an age of 17 (issue 15: this
    error used to be in the page but hidden)."""
    page = new_page()
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    page.goto(f"{live_server.url}/participants/")
    page.click("#screen-new")
    page.fill("#id_screening_date", days_ago(1).isoformat())
    page.fill("#id_age_at_screening", "17")
    page.select_option("#id_sex", "female")
    page.select_option("#id_fracture_status", "impending")
    for criterion in EligibilityCriterion.objects.filter(is_active=True):
        inclusion = criterion.kind == EligibilityCriterion.Kind.INCLUSION
        group = page.get_by_role("group", name=criterion.text, exact=True)
        group.get_by_label("Yes" if inclusion else "No", exact=True).check()
    with page.expect_navigation():
        page.click("#save-screening")

    message = "The age entered is 17: this criterion cannot be met."
    age_criterion = EligibilityCriterion.objects.get(code=AGE_CRITERION)
    wrapper = page.locator(f"#div_id_criterion_{AGE_CRITERION}")
    expect(wrapper.get_by_text(message)).to_be_visible()
    summary = page.locator("#error-summary")
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text(message)
    summary.get_by_role("link", name=age_criterion.text).click()
    expect(page.locator(f"#id_criterion_{AGE_CRITERION}_0")).to_be_focused()
    expect(wrapper).to_be_in_viewport()
    assert problems == []
