"""What each role is offered (navigation) and shown across the randomization
pages: nothing about unused slots or blocks outside the statisticians' list
pages."""

import pytest
from django.contrib import admin
from django.urls import reverse

from randomization.models import Slot
from tests.randomization.views.pages import (
    ARM_LABELS,
    allocation_url,
    randomize_url,
)

RANDOMIZATION_PAGES = {"Randomization log", "Balance", "Allocation lists"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "items"),
    [
        ("coordinator", []),
        ("randomizer", ["Randomization log"]),
        ("datamanager", ["Randomization log", "Balance"]),
        ("statistician", ["Randomization log", "Balance", "Allocation lists"]),
    ],
)
def test_navigation_offers_the_pages_of_the_role(client, users, role, items):
    client.force_login(users[role])
    response = client.get(reverse("screening_log"))
    labels = [item["label"] for item in response.context["nav_items"]]
    assert [label for label in labels if label in RANDOMIZATION_PAGES] == items


# ---------------------------------------------------------------------------
# Concealment: nothing about unused slots or blocks outside the list pages
# ---------------------------------------------------------------------------
def test_randomization_models_are_not_in_the_admin():
    assert not [
        model
        for model in admin.site._registry
        if model._meta.app_label == "randomization"
    ]


@pytest.mark.django_db
def test_no_page_but_the_statisticians_shows_block_data_or_future_arms(
    client, users, site_a, active_list, randomized, consented
):
    """After one allocation in TOR|impending, every page the randomizer, data
    manager and coordinator can open is free of block sizes and numbers, and
    nothing before the confirmation reveals the arm about to be allocated."""
    participant, slot = randomized(site_a)
    waiting = consented(site_a)
    next_slot = Slot.objects.get(stratum__key="TOR|impending", sequence=2)
    assert next_slot.participant is None
    pages = {
        "participant": reverse("participant_detail", args=[participant.study_id]),
        "allocation": allocation_url(participant),
        "waiting participant": reverse("participant_detail", args=[waiting.study_id]),
        "confirmation": randomize_url(waiting),
        "log": reverse("randomization:log"),
        "log csv": reverse("randomization:log") + "?format=csv",
        "balance": reverse("randomization:balance"),
    }
    # Before it is allocated, the next arm of the stratum is not on any page
    # about the waiting participant (no arm label at all appears there).
    before_allocation = {"waiting participant", "confirmation"}
    seen = 0
    for role in ("randomizer", "datamanager", "coordinator", "investigator"):
        client.force_login(users[role])
        for name, url in pages.items():
            response = client.get(url)
            if response.status_code != 200:
                assert response.status_code == 403, (role, name)
                continue
            seen += 1
            content = response.content.decode()
            assert "block" not in content.lower(), (role, name)
            if name in before_allocation:
                for label in ARM_LABELS.values():
                    assert label not in content, (role, name, label)
                assert "data-arm" not in content, (role, name)
            if name in {"participant", "allocation"}:
                # Only the participant's own arm is named, never the other one.
                other = next(a for a in ARM_LABELS if a != slot.arm)
                assert ARM_LABELS[other] not in content, (role, name)
            if name in {"log", "log csv"}:
                # Only used slots: one row, the participant's.
                assert (
                    content.count("TOR, impending") + content.count("TOR|impending")
                    == 1
                ), (role, name)
    assert seen >= 15

    # The statistician's list pages are where block data live (the checks
    # above would catch them).
    client.force_login(users["statistician"])
    detail = client.get(reverse("randomization:list_detail", args=[active_list.pk]))
    assert "Block sizes" in detail.content.decode()
