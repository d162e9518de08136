"""The role-aware menu: groups become dropdowns of the pages a user may open."""

import pytest
from django.urls import reverse

from infrastructure.navigation import navigation_menu_for

MENU = [
    ("Participants", "participant_list", "perform.view_participant"),
    (
        "Randomization",
        [
            (
                "Randomization log",
                "randomization:log",
                "randomization.view_randomization_log",
            ),
            ("Balance", "randomization:balance", "randomization.view_balance"),
        ],
    ),
]


@pytest.mark.django_db
def test_a_group_with_several_allowed_pages_is_a_dropdown(users):
    menu = navigation_menu_for(users["datamanager"], MENU)
    assert menu[1] == {
        "label": "Randomization",
        "links": [
            {"label": "Randomization log", "url": reverse("randomization:log")},
            {"label": "Balance", "url": reverse("randomization:balance")},
        ],
    }


@pytest.mark.django_db
def test_a_group_with_one_allowed_page_is_that_pages_link(users):
    menu = navigation_menu_for(users["randomizer"], MENU)
    assert {"label": "Randomization log", "url": reverse("randomization:log")} in menu
    assert all("links" not in entry for entry in menu)


@pytest.mark.django_db
def test_a_group_with_no_allowed_page_is_left_out(users):
    menu = navigation_menu_for(users["coordinator"], MENU)
    assert [entry["label"] for entry in menu] == ["Participants"]
