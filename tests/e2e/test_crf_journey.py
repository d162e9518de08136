"""Journey (issue 4, must-show 5): a coordinator completes the baseline form
with one value out of range (sees the error, fixes it) and enters the 2-week
follow-up; the data manager raises a query on the baseline, the coordinator
answers it and the data manager closes it."""

import datetime
import re

import pytest
from django.utils import timezone
from pghistory.models import Events
from playwright.sync_api import Page, expect

from crf.forms import services
from crf.models import Baseline, DataQuery, FollowUp, FormStatus, Operative
from crf.schedule.visits import site_today
from perform import services as core
from randomization import services as rnd
from randomization.models import Slot
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

SURGERY_DAYS_AGO = 14  # the 2-week window (days 10–21 after surgery) is open
FORM_STATUS = "#form-title + p [data-form-status]"  # the badge under the title
VAS_ERROR = "Ensure this value is less than or equal to 100."
QUESTION = "EQ VAS 50: please confirm against the patient's own questionnaire."
ANSWER = "Confirmed: the patient marked 50 on the paper questionnaire."
CLOSING_NOTE = "Thank you, value confirmed."


def days_ago(n: int) -> datetime.date:
    """``n`` days before today at site A (Toronto)."""
    return site_today("America/Toronto") - datetime.timedelta(days=n)


# Every baseline field the page asks for, as typed in (select values for
# selects). EQ VAS is typed later: first out of range, then corrected.
BASELINE_SELECTS = {
    "primary_cancer": "breast",
    "lesion_region": "intertrochanteric",
    "fracture_status": "impending",
    "visceral_metastases": "false",
    "bone_metastases": "2-4",
}
BASELINE_NUMBERS = {
    "bone_loss_percent": "50",
    "haemoglobin_g_l": "118",
    "expected_survival_months": "12",
}
# Instrument items, ECOG and ASA are radio groups (crf.forms.wording).
BASELINE_RADIOS = {
    "mirels_site": "3",
    "mirels_pain": "3",
    "mirels_lesion": "2",
    "mirels_size": "2",
    "ecog": "1",
    "asa": "2",
    "msts_pain": "3",
    "msts_function": "2",
    "msts_emotional_acceptance": "4",
    "msts_supports": "1",
    "msts_walking": "2",
    "msts_gait": "3",
    "eq5d_mobility": "2",
    "eq5d_self_care": "3",
    "eq5d_usual_activities": "1",
    "eq5d_pain_discomfort": "4",
    "eq5d_anxiety_depression": "2",
    "bpi_worst": "8",
    "bpi_least": "3",
    "bpi_average": "5",
    "bpi_now": "6",
    "bpi_general_activity": "4",
    "bpi_mood": "5",
    "bpi_walking_ability": "6",
    "bpi_normal_work": "3",
    "bpi_relations": "2",
    "bpi_sleep": "7",
    "bpi_enjoyment": "1",
}


@pytest.fixture
def operated(users, site_a, screen):
    """A participant at site A screened 30 days ago, randomized 28 days ago and
    operated on 14 days ago (operative form complete): the 2-week visit is due."""
    participant = screen(users["coordinator"], site_a, screening_date=days_ago(30))
    core.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=days_ago(29),
        form_version="v2.1",
        obtained_by="Dr A. Surgeon",
    )
    allocation_list = rnd.list_generate(
        actor=users["statistician"],
        name="PERFORM v1",
        seed=20250201,
        slots_per_stratum=4,
        sites=[site_a],
    )
    rnd.list_activate(actor=users["statistician"], allocation_list=allocation_list)
    rnd.participant_randomize(actor=users["randomizer"], participant=participant)
    Slot.objects.filter(participant=participant).update(
        allocated_at=timezone.now() - datetime.timedelta(days=28)
    )
    services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=participant,
            surgery_date=days_ago(SURGERY_DAYS_AGO),
            procedure=Operative.Procedure.IF,
            implant="Cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )
    participant.refresh_from_db()
    return participant


def fill_baseline(page: Page, *, eq5d_vas: str) -> None:
    page.fill("#id_assessment_date", days_ago(28).isoformat())
    for name, value in BASELINE_SELECTS.items():
        page.select_option(f"#id_{name}", value)
    for name, value in BASELINE_NUMBERS.items():
        page.fill(f"#id_{name}", value)
    for name, value in BASELINE_RADIOS.items():
        page.check(radio(name, value))
    page.fill("#id_eq5d_vas", eq5d_vas)


def radio(name: str, value: str) -> str:
    """The selector of one level of a radio group."""
    return f'input[type=radio][name="{name}"][value="{value}"]'


def save_complete(page: Page) -> None:
    with page.expect_navigation():
        page.click("#save-complete")


def test_coordinator_enters_forms_and_answers_the_data_managers_query(
    new_page, live_server, users, password, operated
):
    study_id = operated.study_id
    hub_url = f"{live_server.url}/participants/{study_id}/forms/"
    baseline_url = f"{hub_url}baseline/"
    follow_up_url = f"{hub_url}follow-up/2w/"
    coordinator = new_page()
    coordinator_problems = console_problems(coordinator)

    # --- Baseline: one value out of range, then corrected.
    login(coordinator, live_server, "coordinator", password)
    coordinator.goto(hub_url)
    baseline_row = coordinator.locator('#single-forms tr[data-form="baseline"]')
    expect(baseline_row.locator("[data-form-status]")).to_have_attribute(
        "data-form-status", "not_started"
    )
    baseline_row.get_by_role("link", name="Baseline", exact=True).click()
    expect(coordinator).to_have_url(baseline_url)
    expect(coordinator.locator("#crf-baseline")).to_be_visible()

    fill_baseline(coordinator, eq5d_vas="150")
    save_complete(coordinator)

    expect(coordinator).to_have_url(baseline_url)
    expect(coordinator.locator("#error_1_id_eq5d_vas")).to_have_text(VAS_ERROR)
    expect(coordinator.locator("#div_id_eq5d_vas")).to_contain_text(VAS_ERROR)
    expect(coordinator.locator("#id_eq5d_vas")).to_have_class(
        re.compile(r"\bis-invalid\b")
    )
    # Only the out-of-range value is refused, and every other answer is kept.
    expect(coordinator.locator("#crf-baseline .is-invalid")).to_have_count(1)
    expect(coordinator.locator("#id_assessment_date")).to_have_value(
        days_ago(28).isoformat()
    )
    expect(coordinator.locator("#id_primary_cancer")).to_have_value("breast")
    expect(coordinator.locator("#id_haemoglobin_g_l")).to_have_value("118")
    expect(coordinator.locator(radio("bpi_sleep", "7"))).to_be_checked()
    assert not Baseline.objects.exists()

    coordinator.fill("#id_eq5d_vas", "50")
    save_complete(coordinator)

    expect(coordinator).to_have_url(baseline_url)
    expect(coordinator.get_by_role("alert")).to_contain_text(
        "Baseline saved as Complete (version 1)."
    )
    expect(coordinator.locator(FORM_STATUS)).to_have_text("Complete")
    baseline = Baseline.objects.get(participant=operated)
    assert baseline.status == FormStatus.COMPLETE
    assert baseline.completed_at is not None
    assert (baseline.eq5d_vas, baseline.haemoglobin_g_l) == (50, 118)
    assert baseline.mirels_total == 10
    assert (baseline.msts_total, float(baseline.msts_percent)) == (15, 50.0)
    assert baseline.eq5d_profile == "23142"
    assert float(baseline.bpi_interference) == 4.0
    assert baseline.tess_score is None  # TESS left empty: not applicable
    baseline_events = Events.objects.tracks(baseline)
    assert [(e.pgh_label, e.pgh_context["username"]) for e in baseline_events] == [
        ("insert", "coordinator")
    ]

    # --- The 2-week follow-up, due today.
    coordinator.get_by_role("link", name=f"All forms of {study_id}").click()
    expect(coordinator).to_have_url(hub_url)
    visit_row = coordinator.locator('#visit-timeline tr[data-visit="2w"]')
    expect(visit_row.locator(".visit-state")).to_have_text("due")
    visit_row.get_by_role("link", name="Enter", exact=True).click()
    expect(coordinator).to_have_url(follow_up_url)
    expect(coordinator.locator("#form-title")).to_have_text(
        f"Follow-up visit: 2 weeks · {study_id}"
    )
    coordinator.fill("#id_visit_date", days_ago(0).isoformat())
    coordinator.select_option("#id_vital_status", "alive")
    coordinator.select_option("#id_ambulatory_status", "aid")
    save_complete(coordinator)

    expect(coordinator).to_have_url(follow_up_url)
    expect(coordinator.get_by_role("alert")).to_contain_text(
        "Follow-up visit saved as Complete (version 1)."
    )
    expect(coordinator.locator(FORM_STATUS)).to_have_text("Complete")
    follow_up = FollowUp.objects.get(participant=operated, visit="2w")
    assert follow_up.status == FormStatus.COMPLETE
    assert (follow_up.visit_date, follow_up.vital_status) == (days_ago(0), "alive")
    assert follow_up.ambulatory_status == "aid"

    coordinator.goto(hub_url)
    expect(visit_row.locator(".visit-state")).to_have_text("done")
    expect(visit_row.locator("[data-form-status]")).to_have_text("Complete")
    expect(
        coordinator.locator('#visit-timeline tr[data-visit="6w"] .visit-state')
    ).to_have_text("upcoming")
    expect(coordinator.locator("#open-queries")).to_have_attribute(
        "data-open-queries", "0"
    )
    assert coordinator_problems == []

    # --- The data manager raises a query on the baseline EQ VAS.
    manager = new_page()
    manager_problems = console_problems(manager)
    login(manager, live_server, "datamanager", password)
    manager.goto(f"{live_server.url}/participants/{study_id}/")
    manager.locator('#single-forms tr[data-form="baseline"]').get_by_role(
        "link", name="Baseline", exact=True
    ).click()
    expect(manager).to_have_url(baseline_url)
    # The data manager reads the form and does not edit it.
    expect(manager.locator("#read-only-form")).to_contain_text("EQ VAS")
    expect(manager.locator("#save-complete")).to_have_count(0)
    manager.click("#raise-query-link")
    expect(manager.get_by_role("heading", name="Raise a query")).to_be_visible()
    manager.select_option("#id_field_name", "eq5d_vas")
    manager.fill("#id_text", QUESTION)
    with manager.expect_navigation():
        manager.get_by_role("button", name="Raise query").click()

    query = DataQuery.objects.get()
    expect(manager).to_have_url(f"{live_server.url}/queries/{query.pk}/")
    expect(manager.get_by_role("alert")).to_contain_text("The query has been raised.")
    expect(manager.locator("#query-status")).to_have_text("Open")
    expect(manager.locator("#query-thread li")).to_have_count(1)
    expect(manager.locator("#query-thread")).to_contain_text(QUESTION)
    expect(manager.locator("#query-answer")).to_have_count(0)
    assert (query.status, query.field_name) == (DataQuery.Status.OPEN, "eq5d_vas")
    assert (query.form_id, query.raised_by) == (baseline.pk, users["datamanager"])
    assert manager_problems == []

    # --- The coordinator sees the open query and answers it.
    coordinator.goto(f"{live_server.url}/dashboard/")
    query_task = coordinator.locator(
        f'#task-table tr[data-kind="query"][data-study-id="{study_id}"]'
    )
    expect(query_task).to_have_count(1)
    expect(query_task).to_contain_text("Query on eq5d_vas (open)")
    expect(query_task.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"/queries/{query.pk}/"
    )
    expect(coordinator.locator('[data-count="query"]')).to_have_text("1")
    coordinator.goto(f"{live_server.url}/participants/{study_id}/")
    expect(coordinator.locator("#open-queries")).to_have_attribute(
        "data-open-queries", "1"
    )
    coordinator.get_by_role("link", name="Queries", exact=True).click()
    expect(coordinator).to_have_url(f"{live_server.url}/queries/")
    query_rows = coordinator.locator("#query-table tbody tr")
    expect(query_rows).to_have_count(1)
    expect(query_rows).to_contain_text(study_id)
    expect(query_rows).to_contain_text("Open")
    query_rows.get_by_role("link", name=str(query.pk), exact=True).click()
    expect(coordinator).to_have_url(f"{live_server.url}/queries/{query.pk}/")
    expect(coordinator.locator("#query-status")).to_have_text("Open")
    expect(coordinator.locator("#query-close")).to_have_count(0)
    coordinator.locator("#query-answer textarea[name=text]").fill(ANSWER)
    with coordinator.expect_navigation():
        coordinator.locator("#query-answer [type=submit]").click()

    expect(coordinator.get_by_role("alert")).to_contain_text(
        "The query has been updated."
    )
    expect(coordinator.locator("#query-status")).to_have_text("Answered by site")
    expect(coordinator.locator("#query-thread li")).to_have_count(2)
    expect(coordinator.locator("#query-thread li").nth(1)).to_contain_text(ANSWER)
    expect(coordinator.locator("#query-answer")).to_have_count(0)
    query.refresh_from_db()
    assert query.status == DataQuery.Status.ANSWERED

    # --- The data manager closes it.
    manager.reload()
    expect(manager.locator("#query-status")).to_have_text("Answered by site")
    expect(manager.locator("#query-thread")).to_contain_text(ANSWER)
    manager.locator("#query-close textarea[name=text]").fill(CLOSING_NOTE)
    with manager.expect_navigation():
        manager.locator("#query-close [type=submit]").click()

    expect(manager.locator("#query-status")).to_have_text("Closed")
    expect(manager.locator("#query-thread li")).to_have_count(3)
    expect(manager.locator("#query-thread li").nth(2)).to_contain_text(CLOSING_NOTE)
    expect(manager.locator("#query-close")).to_have_count(0)
    manager.goto(f"{live_server.url}/queries/?status=closed")
    closed_rows = manager.locator("#query-table tbody tr")
    expect(closed_rows).to_have_count(1)
    expect(closed_rows).to_contain_text("Closed")

    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    assert query.closed_at is not None
    thread = list(query.messages.values_list("action", "text", "by__username"))
    assert thread == [
        ("raised", QUESTION, "datamanager"),
        ("answered", ANSWER, "coordinator"),
        ("closed", CLOSING_NOTE, "datamanager"),
    ]
    events = Events.objects.tracks(query).order_by("pgh_created_at", "pgh_id")
    assert [
        (e.pgh_label, e.pgh_data["status"], e.pgh_context["username"]) for e in events
    ] == [
        ("insert", "open", "datamanager"),
        ("update", "answered", "coordinator"),
        ("update", "closed", "datamanager"),
    ]
    message_events = Events.objects.filter(
        pgh_model="crf.QueryMessageEvent", pgh_label="insert"
    ).order_by("pgh_created_at", "pgh_id")
    assert [e.pgh_context["username"] for e in message_events] == [
        "datamanager",
        "coordinator",
        "datamanager",
    ]
    assert manager_problems == []

    # The coordinator's hub no longer counts it.
    coordinator.goto(hub_url)
    expect(coordinator.locator("#open-queries")).to_have_attribute(
        "data-open-queries", "0"
    )
    assert coordinator_problems == []
