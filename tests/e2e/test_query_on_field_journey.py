"""Journey (issue 15, must-show 1(d)): queries where the data is. The data
manager opens a participant's operative form and raises a query from the
blood-loss field itself; the coordinator opens the form, sees the marker on
that field and answers it there; the data manager sees the answer on the form
and closes it there; the marker is gone."""

import re

import pytest
from playwright.sync_api import expect

from crf.models import DataQuery, Operative
from tests.e2e.conftest import console_problems, login
from tests.e2e.test_crf_journey import operated  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

QUESTION = "Blood loss 400 mL: please confirm it from the anaesthetic chart."
ANSWER = "Confirmed: the anaesthetic chart records 400 mL."
CLOSING_NOTE = "Thank you, value confirmed."
MARKER = "#query-marker-blood_loss_ml"
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T")


def test_a_query_is_raised_answered_and_closed_on_the_field(
    new_page,
    live_server,
    users,
    password,
    operated,  # noqa: F811
):
    study_id = operated.study_id
    operative_url = f"{live_server.url}/participants/{study_id}/forms/operative/"
    at_field = f"{operative_url}#div_id_blood_loss_ml"
    operative = Operative.objects.get(participant=operated)

    # --- The data manager opens the form and raises a query from the field.
    manager = new_page()
    manager_problems = console_problems(manager)
    login(manager, live_server, "datamanager", password)
    manager.goto(f"{live_server.url}/participants/{study_id}/")
    manager.locator('#single-forms tr[data-form="operative"]').get_by_role(
        "link", name="Operative", exact=True
    ).click()
    expect(manager).to_have_url(operative_url)
    expect(manager.locator(MARKER)).to_have_count(0)
    raise_box = manager.locator("#raise-query-blood_loss_ml")
    raise_box.locator("summary").click()
    raise_box.get_by_label("Question for the site").fill(QUESTION)
    with manager.expect_navigation():
        raise_box.locator("button[type=submit]").click()

    expect(manager).to_have_url(at_field)
    expect(manager.get_by_role("alert")).to_contain_text("The query has been raised.")
    expect(manager.locator(MARKER)).to_have_text("Query open")
    query = DataQuery.objects.get()
    assert (query.form_id, query.field_name) == (operative.pk, "blood_loss_ml")
    assert query.raised_by == users["datamanager"]
    assert manager_problems == []

    # --- The coordinator opens the form: the marker is on the field.
    coordinator = new_page()
    coordinator_problems = console_problems(coordinator)
    login(coordinator, live_server, "coordinator", password)
    coordinator.goto(operative_url)
    expect(coordinator.locator("#crf-operative")).to_be_visible()  # the edit view
    marker = coordinator.locator(f"#div_id_blood_loss_ml + .field-queries {MARKER}")
    expect(marker).to_have_text("Query open")
    thread = coordinator.locator(f"#query-thread-{query.pk}")
    expect(thread).to_have_attribute("open", "")  # the next step is the site's
    expect(thread.locator(".query-message")).to_have_count(1)
    expect(thread.locator(".query-message")).to_contain_text(QUESTION)
    expect(thread.locator(".query-message")).to_contain_text("by datamanager")
    # Site-local time with its zone named (Toronto).
    expect(thread.locator(".query-message")).to_contain_text(LOCAL_TIME)
    expect(coordinator.locator("[id^=raise-query-]")).to_have_count(0)
    expect(thread.get_by_role("button", name="Close query")).to_have_count(0)

    # ... and answers it there, without saving the form.
    thread.get_by_label("Your answer").fill(ANSWER)
    with coordinator.expect_navigation():
        thread.get_by_role("button", name="Answer").click()

    expect(coordinator).to_have_url(at_field)
    expect(coordinator.get_by_role("alert")).to_contain_text(
        "Your answer has been sent"
    )
    expect(coordinator.locator(MARKER)).to_have_text("Query answered")
    expect(
        coordinator.locator(f"#query-thread-{query.pk} .query-message")
    ).to_have_count(2)
    query.refresh_from_db()
    assert query.status == DataQuery.Status.ANSWERED
    operative.refresh_from_db()
    assert operative.version == 1  # the CRF itself was not submitted
    assert coordinator_problems == []

    # --- The data manager sees the answer on the form and closes the query.
    manager.goto(operative_url)
    expect(manager.locator(MARKER)).to_have_text("Query answered")
    thread = manager.locator(f"#query-thread-{query.pk}")
    expect(thread).to_contain_text(ANSWER)
    expect(thread).to_contain_text("by coordinator")
    thread.get_by_label("Closing note (optional)").fill(CLOSING_NOTE)
    with manager.expect_navigation():
        thread.get_by_role("button", name="Close query").click()

    expect(manager).to_have_url(at_field)
    expect(manager.get_by_role("alert")).to_contain_text("The query has been closed.")
    expect(manager.locator(MARKER)).to_have_count(0)
    expect(manager.locator(f"#query-thread-{query.pk}")).to_have_count(0)
    coordinator.goto(operative_url)
    expect(coordinator.locator(MARKER)).to_have_count(0)

    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    thread_rows = list(query.messages.values_list("action", "text", "by__username"))
    assert thread_rows == [
        ("raised", QUESTION, "datamanager"),
        ("answered", ANSWER, "coordinator"),
        ("closed", CLOSING_NOTE, "datamanager"),
    ]
    assert manager_problems == [] and coordinator_problems == []
