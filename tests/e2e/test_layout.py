"""Layout (issue 15): nothing scrolls the document sideways on a phone (390 px)
and the top menu stays on one line on a laptop (1366 px) for every role."""

import datetime
import os

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crf.epro.contacts import contact_preference_save
from crf.forms import services as forms
from crf.models import Baseline, Operative
from crf.queries import services as queries
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

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
# Screenshots for a person to look at, when LAYOUT_SHOTS names a directory.
SHOTS = os.environ.get("LAYOUT_SHOTS", "")

# The widths, and (to name the culprits in a failure) the outermost elements
# that reach past the right edge of the viewport.
SIDEWAYS_SCROLL = """() => {
  const viewport = window.innerWidth;
  const past = (element) => element.getBoundingClientRect().right > viewport + 0.5;
  const culprits = [...document.body.querySelectorAll("*")]
    .filter((element) => past(element) && !past(element.parentElement))
    .filter((element) => !element.parentElement.closest(".table-responsive"))
    .map((element) => element.id ? `${element.tagName}#${element.id}`
      : `${element.tagName}.${[...element.classList].join(".")}`);
  return {
    viewport,
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    culprits,
  };
}"""
# The tops of the main menu's items, and the vertical centres of those items,
# the account menu and the log-out button (which are shorter, so centred).
NAVBAR_ROWS = """() => {
  const bar = document.querySelector("nav.navbar");
  const items = [...bar.querySelectorAll(".navbar-nav > .nav-item")];
  const others = [...bar.querySelectorAll("#account-menu, #logout")];
  const centre = (element) => {
    const box = element.getBoundingClientRect();
    return Math.round(box.top + box.height / 2);
  };
  return {
    tops: items.map((item) => item.offsetTop),
    centres: [...items, ...others].map(centre),
    height: bar.getBoundingClientRect().height,
  };
}"""


def days_ago(n: int) -> datetime.date:
    return site_today("America/Toronto") - datetime.timedelta(days=n)


@pytest.fixture
def busy_participant(users, site_a, screen):
    """A randomized, operated participant at site A with a baseline form, an
    open query on it, visits due and audit entries: the longest participant page."""
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
    forms.form_save(
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
    baseline = forms.form_save(
        actor=users["coordinator"],
        form=Baseline(
            participant=participant,
            assessment_date=days_ago(28),
            primary_cancer="breast",
            eq5d_vas=50,
        ),
        complete=False,
    )
    queries.query_raise(
        actor=users["datamanager"],
        form=baseline,
        field_name="eq5d_vas",
        text="EQ VAS 50: please confirm against the patient's own questionnaire.",
    )
    # Contact preferences with long details (the ePRO section shows them).
    contact_preference_save(
        actor=users["coordinator"],
        participant=participant,
        electronic_contact=True,
        channel="email",
        email="marie-claire.participant-longname@hopital-universitaire.example.org",
        phone="+1 416 555 0123",
        language="fr",
        proxy_name="Jean-Baptiste Caregiver-Longname",
        proxy_relationship="Son-in-law",
    )
    participant.refresh_from_db()
    return participant


def open_as(new_page, live_server, password, username: str, viewport) -> Page:
    page = new_page()
    page.set_viewport_size(viewport)
    login(page, live_server, username, password)
    return page


def shoot(page: Page, name: str) -> None:
    """The whole page, in slices of at most 1600 px (readable one by one)."""
    if not SHOTS:
        return
    os.makedirs(SHOTS, exist_ok=True)
    width, height = page.evaluate(
        "() => [document.documentElement.scrollWidth,"
        " document.documentElement.scrollHeight]"
    )
    for number, top in enumerate(range(0, height, 1600)):
        clip = {"x": 0, "y": top, "width": width, "height": min(1600, height - top)}
        path = os.path.join(SHOTS, f"{name}-{number}.png")
        page.screenshot(path=path, full_page=True, clip=clip)


PHONE_PAGES = {
    "participant": "/participants/{study_id}/",
    "dashboard": "/dashboard/",
    "baseline-form": "/participants/{study_id}/forms/baseline/",
    "epro-contact": "/participants/{study_id}/contact/",
}


@pytest.mark.parametrize("name", PHONE_PAGES)
def test_the_page_does_not_scroll_sideways_on_a_phone(
    new_page, live_server, password, busy_participant, name
):
    page = open_as(new_page, live_server, password, "coordinator", PHONE)
    problems = console_problems(page)
    path = PHONE_PAGES[name].format(study_id=busy_participant.study_id)
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200, path
    widths = page.evaluate(SIDEWAYS_SCROLL)
    shoot(page, f"{name}-390")
    assert widths["document"] <= widths["viewport"], widths
    assert widths["body"] <= widths["viewport"], widths
    assert problems == []


# Roles with long menus (the administrator's and the system owner's hold two
# or three entries). The data manager's, the longest, may take two lines: see
# test_a_staff_data_manager_keeps_log_out_on_a_laptop_screen.
@pytest.mark.parametrize("username", ["statistician", "coordinator"])
def test_the_top_menu_fits_on_one_line_on_a_laptop(
    new_page, live_server, password, users, username
):
    page = open_as(new_page, live_server, password, username, LAPTOP)
    page.goto(f"{live_server.url}/participants/")
    navbar = page.evaluate(NAVBAR_ROWS)
    shoot(page, f"navbar-{username}-1366")
    assert len(navbar["tops"]) > 2, navbar
    assert len(set(navbar["tops"])) == 1, navbar
    assert max(navbar["centres"]) - min(navbar["centres"]) <= 2, navbar
    # One line: the bar is no taller than the brand's row plus its padding.
    assert navbar["height"] < 70, navbar


def test_the_statistician_reaches_grouped_pages_through_the_menu(
    new_page, live_server, password, users
):
    """Each page moved into a dropdown opens from it, marked as the current one."""
    page = open_as(new_page, live_server, password, "statistician", LAPTOP)
    menu = page.get_by_role("navigation", name="Main navigation")
    groups = {
        "Screening": ["Screening log", "Screening summary"],
        "Randomization": ["Randomization log", "Balance", "Allocation lists"],
    }
    for group, links in groups.items():
        for label in links:
            menu.get_by_role("button", name=group, exact=True).click()
            link = menu.get_by_role("link", name=label, exact=True)
            expect(link).to_be_visible()
            with page.expect_navigation():
                link.click()
            current = menu.get_by_role(
                "link", name=label, exact=True, include_hidden=True
            )  # the dropdown is closed again on the new page
            expect(current).to_have_attribute("aria-current", "page")


def test_a_staff_data_manager_keeps_log_out_on_a_laptop_screen(
    new_page, live_server, password, users
):
    """The demo's data manager is staff too (the "Admin" entry) and sees the
    DSMB reports: the longest menu there is. It may wrap onto a second line,
    but nothing is pushed off a 1366 px screen."""
    users["datamanager"].is_staff = True
    users["datamanager"].save(update_fields=["is_staff"])
    page = open_as(new_page, live_server, password, "datamanager", LAPTOP)
    page.goto(f"{live_server.url}/data-quality/")
    widths = page.evaluate(SIDEWAYS_SCROLL)
    assert widths["document"] <= LAPTOP["width"], widths
    logout = page.locator("#logout").bounding_box()
    assert logout["x"] + logout["width"] <= LAPTOP["width"], logout
    # The menus wrap beside the account menu, never under it.
    menus = page.locator("#main-nav .navbar-nav").bounding_box()
    account = page.locator("#account-menu").bounding_box()
    assert menus["x"] + menus["width"] <= account["x"], (menus, account)
