"""Journey (issue 15, must-show 1(c)): on an adverse event form, Serious = Yes
shows the seriousness criteria and No hides them; a reoperation's "other"
reason text appears only with "Other" chosen and keeps what was typed; a
missing-data code disables the value it stands for; then a POST carrying a
value for a hidden field is refused by the server with the condition named,
and nothing is saved."""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crf.forms import services
from crf.models import AdverseEvent, Operative, Reoperation
from crf.schedule.visits import site_today
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

REFUSAL = "Resulted in death does not apply when Serious is No: clear it."


def days_ago(n: int) -> datetime.date:
    return site_today("America/Toronto") - datetime.timedelta(days=n)


@pytest.fixture
def operated(users, site_a, screen, randomize):
    participant = randomize(
        screen(users["coordinator"], site_a, screening_date=days_ago(30)),
        on=days_ago(28),
    )
    services.form_save(
        actor=users["coordinator"],
        form=Operative(
            participant=participant,
            surgery_date=days_ago(14),
            procedure=Operative.Procedure.IF,
            implant="Cephalomedullary nail",
            duration_min=95,
            blood_loss_ml=400,
            transfusion_units=1,
        ),
        complete=True,
    )
    return participant


def item(page, name):
    return page.locator(f'.crf-item[data-field="{name}"]')


def test_branching_fields_follow_the_answers_and_the_server_refuses_hidden_values(
    new_page, live_server, users, password, operated
):
    page = new_page()
    problems = console_problems(page)
    login(page, live_server, "coordinator", password)
    ae_url = live_server.url + reverse(
        "crf:repeatable_new", args=[operated.study_id, "adverse-event"]
    )
    page.goto(ae_url)

    # Serious not answered yet: no criteria.
    criteria = item(page, "sae_death")
    expect(criteria).to_be_hidden()
    page.select_option("#id_serious", "true")
    expect(criteria).to_be_visible()
    expect(item(page, "sae_other_important")).to_be_visible()
    page.check("#id_sae_death")
    page.select_option("#id_serious", "false")
    expect(criteria).to_be_hidden()
    expect(page.locator("#id_sae_death")).to_be_disabled()
    page.select_option("#id_serious", "true")
    expect(page.locator("#id_sae_death")).to_be_checked()  # kept on the page
    expect(page.locator("#id_sae_death")).to_be_enabled()

    # The resolution date only once the event resolved.
    expect(item(page, "resolution_date")).to_be_hidden()
    page.select_option("#id_outcome", "recovered")
    expect(item(page, "resolution_date")).to_be_visible()

    # A missing-data code stands for the value: the value cannot be typed.
    page.select_option("#id_missing__relatedness", "UNK")
    expect(page.locator("#id_relatedness")).to_be_disabled()
    page.select_option("#id_missing__relatedness", "")
    expect(page.locator("#id_relatedness")).to_be_enabled()

    # "Other" free text on the reoperation form.
    page.goto(
        live_server.url
        + reverse("crf:repeatable_new", args=[operated.study_id, "reoperation"])
    )
    other = item(page, "reason_other")
    expect(other).to_be_hidden()
    page.select_option("#id_reason", "other")
    expect(other).to_be_visible()
    page.fill("#id_reason_other", "Wound dehiscence")
    page.select_option("#id_reason", "infection")
    expect(other).to_be_hidden()
    page.select_option("#id_reason", "other")
    expect(page.locator("#id_reason_other")).to_have_value("Wound dehiscence")

    # A crafted POST with a value for the hidden criteria: refused, not saved.
    page.goto(ae_url)
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        ae_url,
        form={
            "csrfmiddlewaretoken": token,
            "term": "Wound infection",
            "body_system": "infections",
            "onset_date": days_ago(5).isoformat(),
            "awareness_date": days_ago(4).isoformat(),
            "clavien_dindo": "II",
            "serious": "false",
            "sae_death": "on",
            "save_draft": "1",
        },
    )
    assert response.status == 200
    assert REFUSAL in response.text()
    assert not AdverseEvent.objects.exists()
    assert not Reoperation.objects.exists()
    assert problems == []
