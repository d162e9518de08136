"""Journey (issue 15, must-show 1(f)): the site investigator opens a
participant's forms, follows "Sign complete forms", finds every complete form
listed and ticked (the draft left out), enters the password once, and every
complete form is signed: on the page and in the database, each signature in
its form's audit trail."""

import datetime

import pytest
from playwright.sync_api import Page, expect

from crf.models import AdverseEvent, Baseline, FollowUp, FormStatus, Operative
from crf.schedule.visits import site_today
from perform.audit_trail import audit_trail
from tests.crf.bulk import form_kwargs
from tests.e2e.conftest import console_problems, login

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

DAY = datetime.timedelta(days=1)


@pytest.fixture
def with_forms(users, randomized):
    """The randomized participant at site A with a complete baseline,
    operative and 2-week follow-up (as the services leave them), and a draft
    adverse event."""
    today = site_today("America/Toronto")
    actor = users["coordinator"]
    Baseline.objects.create(**form_kwargs(randomized, actor, ecog=1))
    Operative.objects.create(
        **form_kwargs(randomized, actor, surgery_date=today - 20 * DAY)
    )
    FollowUp.objects.create(
        **form_kwargs(randomized, actor, visit="2w", visit_date=today - 5 * DAY)
    )
    AdverseEvent.objects.create(
        **form_kwargs(randomized, actor, status=FormStatus.DRAFT, term="Fall")
    )
    return randomized


def test_an_investigator_signs_all_complete_forms_with_one_password_entry(
    page: Page, live_server, password, users, with_forms
):
    participant = with_forms
    problems = console_problems(page)
    login(page, live_server, "investigator", password)
    page.goto(f"{live_server.url}/participants/{participant.study_id}/forms/")

    with page.expect_navigation():
        page.click("#sign-all-link")
    expect(page.locator("#bulk-title")).to_contain_text("Sign complete forms")
    rows = page.locator("#bulk-forms tbody tr")
    expect(rows).to_have_count(3)
    forms_url = f"/participants/{participant.study_id}/forms/"
    links = {
        "baseline": forms_url + "baseline/",
        "operative": forms_url + "operative/",
        "follow-up": forms_url + "follow-up/2w/",
    }
    for key, link in links.items():
        row = page.locator(f'#bulk-forms tr[data-form="{key}"]')
        expect(row.locator('input[type="checkbox"]')).to_be_checked()
        expect(row.locator("a")).to_have_attribute("href", link)
    expect(page.locator('#bulk-forms tr[data-form="adverse-event"]')).to_have_count(0)

    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#confirm")

    # Back on the participant's forms, which say so and show them signed.
    expect(page.locator(".alert-success")).to_contain_text(
        f"3 forms of {participant.study_id} signed."
    )
    single = page.locator("#single-forms")
    for key in ("baseline", "operative"):
        expect(
            single.locator(f'tr[data-form="{key}"] [data-form-status]')
        ).to_have_attribute("data-form-status", "signed")
    expect(
        page.locator('#visit-timeline tr[data-visit="2w"] [data-form-status]')
    ).to_have_attribute("data-form-status", "signed")

    for model in (Baseline, Operative, FollowUp):
        form = model.objects.get(participant=participant)
        assert form.status == FormStatus.SIGNED
        assert form.signed_by == users["investigator"]
        assert [
            entry
            for entry in audit_trail(participant=form.participant, record=form)
            if entry.reason == "Signed by the investigator"
            and entry.username == "investigator"
        ]
    draft = AdverseEvent.objects.get(participant=participant)
    assert draft.status == FormStatus.DRAFT and draft.signed_at is None
    assert problems == []
