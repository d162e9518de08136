"""Journey: the randomizer opens a consented participant waiting for
randomization, checks the stratum on the confirmation page, confirms and sees
the allocation (not its number within the stratum), finds it in the log
without an arm; the coordinator of that site then sees the same arm on the
participant page."""

import pytest
from playwright.sync_api import expect

from perform import services as core
from randomization import services
from randomization.models import Slot
from tests.clock import today
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]


@pytest.fixture
def waiting_participant(users, site_a, site_b, screen):
    """An active list, and a consented participant at site A (complete fracture)."""
    services.list_activate(
        actor=users["statistician"],
        allocation_list=services.list_generate(
            actor=users["statistician"],
            name="PERFORM v1",
            seed=20250201,
            slots_per_stratum=12,
            sites=[site_a, site_b],
        ),
    )
    participant = screen(users["coordinator"], site_a, fracture_status="complete")
    core.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=today(),
        form_version="v2.1",
        obtained_by="Dr A. Surgeon",
    )
    return participant


def test_randomizer_confirms_and_the_site_coordinator_sees_the_arm(
    new_page, live_server, users, password, waiting_participant
):
    study_id = waiting_participant.study_id
    page = new_page()
    problems = console_problems(page)

    login(page, live_server, "randomizer", password)
    page.locator("#participant-table").get_by_role("link", name=study_id).click()
    expect(page.locator("#study-id")).to_have_text(study_id)
    expect(page.locator(".status-badge")).to_have_text("Consented")
    page.click("#randomize")

    expect(page).to_have_url(
        f"{live_server.url}/randomization/participants/{study_id}/randomize/"
    )
    expect(page.locator("#stratum")).to_have_text("TOR, complete")
    expect(page.locator("#consent")).to_contain_text("form version v2.1")
    expect(page.locator("#eligibility")).to_contain_text("every criterion met")
    expect(page.locator("#cannot-randomize")).to_have_count(0)
    # Nothing on the confirmation page tells which arm comes next.
    expect(page.locator("#content")).not_to_contain_text("Internal fixation")
    expect(page.locator("#content")).not_to_contain_text("Resection")
    assert not Slot.objects.filter(participant__isnull=False).exists()

    with page.expect_navigation():
        page.click("#randomize-form-submit")

    slot = Slot.objects.select_related("stratum").get(participant__isnull=False)
    assert (slot.stratum.key, slot.sequence) == ("TOR|complete", 1)
    arm_text = {
        "IF": "Internal fixation (IF)",
        "RER": "Resection with endoprosthetic reconstruction (RER)",
    }[slot.arm]
    expect(page).to_have_url(
        f"{live_server.url}/randomization/participants/{study_id}/allocation/"
    )
    expect(page.get_by_role("alert")).to_contain_text(f"{study_id} has been randomized")
    expect(page.locator("#allocation-arm")).to_have_text(arm_text)
    expect(page.locator("#allocation-stratum")).to_have_text("TOR, complete")
    # The number within the stratum is for statisticians only (PROTOCOL §5).
    expect(page.locator("#allocation-sequence")).to_have_count(0)
    expect(page.locator("#content")).not_to_contain_text("Number within stratum")
    expect(page.locator("#allocation-by")).to_have_text("randomizer")

    # The randomizer's log lists the allocation without its arm or number.
    page.goto(f"{live_server.url}/randomization/log/")
    log = page.locator("#randomization-log")
    expect(log).to_contain_text(study_id)
    expect(log).to_contain_text("TOR, complete")
    expect(log.locator("thead")).not_to_contain_text("Arm")
    expect(log.locator("thead")).not_to_contain_text("No. in stratum")
    expect(log).not_to_contain_text(arm_text.split(" (")[0])
    assert problems == []

    coordinator = new_page()
    coordinator_problems = console_problems(coordinator)
    login(coordinator, live_server, "coordinator", password)
    coordinator.goto(f"{live_server.url}/participants/{study_id}/")
    expect(coordinator.locator(".status-badge")).to_have_text("Randomized")
    expect(coordinator.locator("#participant-arm")).to_have_text(arm_text)
    expect(coordinator.locator("#randomize")).to_have_count(0)
    coordinator.click("#allocation-link")
    expect(coordinator.locator("#allocation-arm")).to_have_text(arm_text)
    assert coordinator_problems == []
