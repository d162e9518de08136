"""Journey: a coordinator screens an eligible patient and records consent; a
coordinator at another site can neither open nor list that participant."""

import re

import pytest
from playwright.sync_api import Page, expect

from perform.models import EligibilityCriterion, Participant, ParticipantStatus
from tests import clock
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

STUDY_ID = "PRF-TOR-0001"


def answer_checklist_as_eligible(page: Page) -> None:
    """Answer every active criterion as the database states it (labels from DB)."""
    criteria = EligibilityCriterion.objects.filter(is_active=True)
    assert criteria.exists()
    for criterion in criteria:
        inclusion = criterion.kind == EligibilityCriterion.Kind.INCLUSION
        answer = "Yes" if inclusion else "No"
        group = page.get_by_role("group", name=criterion.text, exact=True)
        group.get_by_label(answer, exact=True).check()


def test_coordinator_screens_consents_and_other_site_cannot_see_the_participant(
    new_page, live_server, users, password
):
    today = clock.today().isoformat()
    page = new_page()
    problems = console_problems(page)

    login(page, live_server, "coordinator", password)
    expect(page).to_have_url(f"{live_server.url}/participants/")
    page.click("#screen-new")
    expect(page.locator("#screening-form")).to_be_visible()

    # The date is typed in: the field does not show its initial value (see
    # test_date_fields_open_with_todays_date_or_the_saved_one below).
    page.fill("#id_screening_date", today)
    # An age the server rejects; drop the browser's own max check so it is sent.
    age = page.locator("#id_age_at_screening")
    age.evaluate("input => input.removeAttribute('max')")
    page.fill("#id_age_at_screening", "150")
    page.select_option("#id_sex", "female")
    page.select_option("#id_fracture_status", "impending")
    answer_checklist_as_eligible(page)
    with page.expect_navigation():
        page.click("#save-screening")

    age_field = page.locator("#div_id_age_at_screening")
    expect(age_field).to_contain_text("Ensure this value is less than or equal to 120.")
    expect(age).to_have_class(re.compile(r"\bis-invalid\b"))
    assert not Participant.objects.exists()
    # The re-rendered form keeps every answer given.
    inclusion = EligibilityCriterion.objects.filter(
        is_active=True, kind=EligibilityCriterion.Kind.INCLUSION
    ).first()
    expect(page.locator(f"#id_criterion_{inclusion.code}_0")).to_be_checked()

    page.fill("#id_age_at_screening", "64")
    with page.expect_navigation():
        page.click("#save-screening")

    expect(page).to_have_url(f"{live_server.url}/participants/{STUDY_ID}/")
    expect(page.locator("#study-id")).to_have_text(STUDY_ID)
    expect(page.locator(".status-badge")).to_have_text("Eligible")
    expect(page.get_by_role("alert")).to_contain_text(
        f"Screened as {STUDY_ID}: eligible."
    )

    page.click("#record-consent")
    expect(page.locator("#consent-form")).to_be_visible()
    page.fill("#id_decision_date", today)
    page.fill("#id_form_version", "v2.1 2025-01-15")
    page.fill("#id_obtained_by", "Dr A. Surgeon")
    with page.expect_navigation():
        page.click("#save-consent")

    expect(page).to_have_url(f"{live_server.url}/participants/{STUDY_ID}/")
    expect(page.locator(".status-badge")).to_have_text("Consented")
    expect(page.locator('[data-consent="given"]')).to_contain_text(
        f"Consent given on {today}, form v2.1 2025-01-15, by Dr A. Surgeon"
    )
    expect(page.locator("#record-consent")).to_have_count(0)
    participant = Participant.objects.get(study_id=STUDY_ID)
    assert participant.status == ParticipantStatus.CONSENTED

    page.get_by_role("link", name="Participants", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/participants/")
    table = page.locator("#participant-table")
    expect(table.get_by_role("link", name=STUDY_ID)).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr")).to_contain_text("Consented")

    assert problems == []

    # A coordinator at Hamburg: the Toronto participant does not exist for them.
    other = new_page()
    login(other, live_server, "coordinator2", password)
    response = other.goto(f"{live_server.url}/participants/{STUDY_ID}/")
    assert response.status == 404
    expect(other.locator("#error-404")).to_be_visible()
    expect(other.locator("#content")).not_to_contain_text(STUDY_ID)
    other.goto(f"{live_server.url}/participants/")
    other_table = other.locator("#participant-table")
    expect(other_table).to_be_visible()
    expect(other_table).not_to_contain_text(STUDY_ID)
    expect(other_table).to_contain_text("No participants match.")


def test_date_fields_open_with_todays_date_or_the_saved_one(
    page, live_server, users, password, site_a, screen
):
    participant = screen(users["coordinator"], site_a)
    saved = participant.screening_date.isoformat()
    today = clock.today().isoformat()
    login(page, live_server, "coordinator", password)

    page.goto(f"{live_server.url}/participants/screen/")
    expect(page.locator("#id_screening_date")).to_have_value(today)
    page.goto(f"{live_server.url}/participants/{participant.study_id}/screening/")
    expect(page.locator("#id_screening_date")).to_have_value(saved)
    page.goto(f"{live_server.url}/participants/{participant.study_id}/consent/")
    expect(page.locator("#id_decision_date")).to_have_value(today)
