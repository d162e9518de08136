"""Journey (issue 16, must-show 1): a participant's 2-week questionnaires on a
390 px phone.

The 2-week window opens (surgery 10 days ago); the hourly sweep runs in a real
Celery worker, which sends the invitation to a real SMTP server (aiosmtpd).
The participant opens the link from the received message in Chromium at
390 × 844, leaves an item blank (the error summary says which), answers the
rest (saved as they go: a reload keeps them), and submits. The scores of
``crf.forms.scoring`` appear on the 2-week follow-up form the coordinator
opens. Days later the sweep runs again in the worker: no reminder for the
participant who answered, while one who did not is reminded.

The worker runs on the real clock, so "days later" is made by moving the
participants' surgery and invitation dates back three days (what three days
of real time would do), not by a time machine in this process alone.
"""

import datetime
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crf.models import ContactPreference, FollowUp, Operative, SurveyInvitation
from crf.schedule.visits import site_today
from crf.tasks import epro_sweep_task
from tests.crf.bulk import form_kwargs, participants_add
from tests.crf.epro.survey_support import ANSWERS, expected_scores
from tests.e2e.conftest import console_problems, login
from tests.workers import wait_for, worker_settled

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_rows"),
]

DAY = datetime.timedelta(days=1)
PHONE = {"width": 390, "height": 844}
PATIENT = "patient@example.org"
OTHER = "other@example.org"
LINK = re.compile(r"https?://\S+/survey/[A-Za-z0-9_-]{43}/")


@pytest.fixture
def worker_env(live_server):
    """The links in the worker's messages point at the live server."""
    return {"SITE_URL": live_server.url}


def operated_and_contactable(site, actor, email):
    (person,) = participants_add(site, 1, actor=actor)
    Operative.objects.create(
        **form_kwargs(person, actor, surgery_date=site_today(site.time_zone) - 10 * DAY)
    )
    ContactPreference.objects.create(
        participant=person,
        electronic_contact=True,
        channel="email",
        email=email,
        language="en",
        recorded_by=actor,
    )
    return person


def messages_to(mailbox, address):
    return [m for m in mailbox.messages if address in m.to]


def no_sideways_scrolling(page: Page, name: str):
    """Nothing wider than the phone; the page saved to ``E2E_SCREENSHOT_DIR``
    when it is set."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow} px too wide at 390 px"
    folder = os.environ.get("E2E_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/epro-{name}.png", full_page=True)


def answer(page: Page, values: dict, *, skip=()):
    for name, value in values.items():
        if name in skip:
            continue
        if name == "eq5d_vas":
            page.fill('input[type=number][name="eq5d_vas"]', value)
        else:
            page.check(f"#id_{name}_{value}")


def test_invited_by_the_worker_answered_on_a_phone_scored_and_not_reminded(
    new_page, live_server, users, site_a, password, workers, mailbox
):
    coordinator = users["coordinator"]
    person = operated_and_contactable(site_a, coordinator, PATIENT)
    other = operated_and_contactable(site_a, coordinator, OTHER)
    worker = workers()

    # The window opens: the sweep, run by the worker, sends the invitations.
    assert epro_sweep_task.delay().get(timeout=60)["invitations"] == 2
    assert wait_for(lambda: messages_to(mailbox, PATIENT)), worker.log()
    (invitation,) = messages_to(mailbox, PATIENT)
    for secret in (person.study_id, site_a.name, "Toronto"):
        assert secret not in invitation.subject + invitation.text
    link = LINK.search(invitation.text).group(0)
    assert link.startswith(live_server.url)

    page: Page = new_page()
    page.set_viewport_size(PHONE)
    problems = console_problems(page)
    opened = page.goto(link)
    assert opened.headers["referrer-policy"] == "same-origin"
    expect(page.locator("#survey-progress")).to_have_text("Page 1 of 3")
    no_sideways_scrolling(page, "first-page")
    box = page.locator("label[for=id_tess_1_3]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box
    expect(page.locator("#stop-messages")).to_be_visible()

    # A required answer left blank: the summary at the top names it.
    answer(page, ANSWERS["tess"], skip={"tess_7"})
    page.click('button[name=action][value="next"]')
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator('a[href="#div_id_tess_7"]')).to_have_text("Item 7")
    expect(page.locator("#error_tess_7")).to_be_visible()
    expect(page.locator("#id_tess_1_4")).to_be_checked()
    no_sideways_scrolling(page, "error-summary")
    page.check("#id_tess_7_4")
    page.click('button[name=action][value="next"]')
    expect(page.locator("#survey-progress")).to_have_text("Page 2 of 3")

    # Saved as they go: after a reload the answer is still there.
    with page.expect_response(lambda r: "/autosave/" in r.url) as saved:
        page.check("#id_eq5d_mobility_2")
    assert saved.value.status == 200
    page.reload()
    expect(page.locator("#id_eq5d_mobility_2")).to_be_checked()
    answer(page, ANSWERS["eq5d"])
    no_sideways_scrolling(page, "eq5d")
    page.click('button[name=action][value="next"]')
    expect(page.locator("#survey-progress")).to_have_text("Page 3 of 3")
    answer(page, ANSWERS["bpi"])
    no_sideways_scrolling(page, "bpi")
    page.click('button[name=action][value="submit"]')
    expect(page.locator("h1")).to_have_text("Thank you")
    no_sideways_scrolling(page, "thanks")
    assert not problems, problems

    # The link replayed: already answered, no form.
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Already answered")
    expect(page.locator("#survey-form")).to_have_count(0)

    # The scores, by crf.forms.scoring, on the 2-week follow-up form.
    scores = expected_scores()
    form = FollowUp.objects.get(participant=person, visit="2w")
    assert float(form.tess_score) == scores["tess_score"]
    assert float(form.bpi_interference) == scores["bpi_interference"]
    assert form.eq5d_vas == 70 and form.missing_codes["tess_2"] == "NA"
    staff: Page = new_page()
    login(staff, live_server, "coordinator", password)
    staff.goto(f"{live_server.url}/participants/{person.study_id}/forms/follow-up/2w/")
    for key, part, value in (
        ("tess", "score", scores["tess_score"]),
        ("bpi", "interference", scores["bpi_interference"]),
    ):
        shown = staff.locator(
            f"#score-{key} [data-part={part}], #stored-score-{key} [data-part={part}]"
        ).first
        expect(shown).not_to_have_text("–")
        assert float(shown.inner_text()) == value, key

    # Three days later the sweep runs again in the worker: a reminder for the
    # participant who did not answer, none for the one who did.
    for someone in (person, other):
        operative = Operative.objects.get(participant=someone)
        Operative.objects.filter(pk=operative.pk).update(
            surgery_date=operative.surgery_date - 3 * DAY
        )
        sent = SurveyInvitation.objects.get(participant=someone)
        SurveyInvitation.objects.filter(pk=sent.pk).update(
            invited_on=sent.invited_on - 3 * DAY
        )
    assert epro_sweep_task.delay().get(timeout=60) == {
        "invitations": 0,
        "reminders": 1,
    }
    worker_settled(worker)
    assert len(messages_to(mailbox, OTHER)) == 2, worker.log()
    assert len(messages_to(mailbox, PATIENT)) == 1
