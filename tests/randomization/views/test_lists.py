"""Allocation list management (statisticians): who may open the pages, generate,
import, verify, activate, extend and export (``views/lists.py``)."""

import csv
import io

import pytest
from django.urls import reverse

from randomization import services
from randomization.models import AllocationList, ListEvent, Slot
from tests.randomization.views.pages import messages_of

LIST_PAGES = [
    ("list_index", False),
    ("list_generate", False),
    ("list_import", False),
    ("list_detail", True),
    ("list_activate", True),
    ("list_extend", True),
    ("list_export", True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    ["coordinator", "investigator", "datamanager", "randomizer", "dsmb", "admin"],
)
def test_list_pages_are_forbidden_to_everyone_but_the_statistician(
    client, users, active_list, draft_list, role
):
    client.force_login(users[role])
    for name, takes_id in LIST_PAGES:
        url = reverse(f"randomization:{name}", args=[draft_list.pk] if takes_id else [])
        assert client.get(url).status_code == 403, url
    before = AllocationList.objects.count(), ListEvent.objects.count()
    for name in ("list_verify", "list_activate", "list_extend"):
        url = reverse(f"randomization:{name}", args=[draft_list.pk])
        assert client.post(url, {"confirm": "on"}).status_code == 403, url
    assert (
        client.post(reverse("randomization:list_generate"), generate_post()).status_code
        == 403
    )
    assert (AllocationList.objects.count(), ListEvent.objects.count()) == before
    draft_list.refresh_from_db()
    assert draft_list.status == AllocationList.Status.DRAFT


@pytest.mark.django_db
def test_statistician_opens_every_list_page(client, users, active_list, draft_list):
    client.force_login(users["statistician"])
    for name, takes_id in LIST_PAGES:
        for allocation_list in (active_list, draft_list):
            args = [allocation_list.pk] if takes_id else []
            response = client.get(reverse(f"randomization:{name}", args=args))
            assert response.status_code == 200, name
    page = client.get(
        reverse("randomization:list_detail", args=[active_list.pk])
    ).content.decode()
    assert active_list.digest in page
    assert str(active_list.seed) in page
    assert 'data-stratum="TOR|impending"' in page
    assert 'data-action="activated"' in page
    missing = reverse("randomization:list_detail", args=[active_list.pk + 1000])
    assert client.get(missing).status_code == 404


# ---------------------------------------------------------------------------
# Generate
# ---------------------------------------------------------------------------
def generate_post(**overrides):
    data = {
        "name": "PERFORM v2",
        "seed": "12345",
        "arms": "IF: Internal fixation\nRER: Resection",
        "ratio": "1:1",
        "block_sizes": "2, 4, 6",
        "factors": ["site", "fracture_status"],
        "slots_per_stratum": "10",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_generate_form_creates_a_draft_list_from_the_seed(client, users, site_a):
    client.force_login(users["statistician"])
    response = client.post(reverse("randomization:list_generate"), generate_post())
    allocation_list = AllocationList.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "randomization:list_detail", args=[allocation_list.pk]
    )
    assert allocation_list.status == AllocationList.Status.DRAFT
    assert allocation_list.seed == 12345
    assert allocation_list.arms == [
        ["IF", "Internal fixation"],
        ["RER", "Resection"],
    ]
    assert allocation_list.block_sizes == [2, 4, 6]
    assert allocation_list.slots_per_stratum == 10


@pytest.mark.django_db
def test_generate_form_offers_the_configured_defaults(client, users, settings):
    client.force_login(users["statistician"])
    form = client.get(reverse("randomization:list_generate")).context["form"]
    assert form["block_sizes"].value() == "2, 4, 6"
    assert form["ratio"].value() == "1:1"
    assert (
        form["slots_per_stratum"].value()
        == (settings.RANDOMIZATION["SLOTS_PER_STRATUM"])
    )


@pytest.mark.django_db
def test_generate_form_without_a_seed_records_a_random_one(client, users, site_a):
    client.force_login(users["statistician"])
    client.post(reverse("randomization:list_generate"), generate_post(seed=""))
    assert AllocationList.objects.get().seed is not None


@pytest.mark.django_db
def test_generate_form_refuses_block_sizes_that_do_not_fit_the_ratio(
    client, users, site_a
):
    client.force_login(users["statistician"])
    response = client.post(
        reverse("randomization:list_generate"), generate_post(block_sizes="3")
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Block sizes 3 are not multiples of 2, the sum of the ratio 1:1."
    ]
    assert "Block sizes 3 are not multiples of 2, the sum of the ratio 1:1." in (
        response.content.decode()
    )
    assert not AllocationList.objects.exists()


@pytest.mark.django_db
def test_generate_form_rejects_block_sizes_that_are_not_numbers(client, users, site_a):
    client.force_login(users["statistician"])
    response = client.post(
        reverse("randomization:list_generate"), generate_post(block_sizes="2, four")
    )
    assert response.context["form"].errors["block_sizes"] == [
        "Use whole numbers separated by “,”."
    ]
    assert not AllocationList.objects.exists()


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
def import_csv(rows):
    return io.BytesIO(
        ("stratum,sequence,arm,block\n" + "".join(f"{r}\n" for r in rows)).encode()
    )


GOOD_ROWS = [
    "TOR|impending,1,IF,1",
    "TOR|impending,2,RER,1",
    "TOR|impending,3,RER,2",
    "TOR|impending,4,IF,2",
]


@pytest.mark.django_db
def test_import_with_one_bad_row_shows_row_numbers_and_creates_nothing(
    client, users, site_a
):
    client.force_login(users["statistician"])
    rows = list(GOOD_ROWS)
    rows[2] = "TOR|impending,3,XX,2"  # file row 4 (the header is row 1)
    upload = import_csv(rows)
    upload.name = "list.csv"
    response = client.post(
        reverse("randomization:list_import"), {"name": "External", "file": upload}
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert "Row 4: arm 'XX' is not one of IF, RER." in errors
    assert all(error.startswith("Row ") for error in errors)
    assert "Row 4: arm &#x27;XX&#x27; is not one of IF, RER." in (
        response.content.decode()
    )
    assert not AllocationList.objects.exists()
    assert not Slot.objects.exists()


@pytest.mark.django_db
def test_import_of_a_valid_file_creates_a_draft_list(client, users, site_a):
    client.force_login(users["statistician"])
    upload = import_csv(GOOD_ROWS)
    upload.name = "list.csv"
    response = client.post(
        reverse("randomization:list_import"), {"name": "External", "file": upload}
    )
    allocation_list = AllocationList.objects.get()
    assert response.status_code == 302
    assert allocation_list.source == AllocationList.Source.IMPORTED
    assert list(
        Slot.objects.order_by("sequence").values_list("arm", "block_number")
    ) == [("IF", 1), ("RER", 1), ("RER", 2), ("IF", 2)]


# ---------------------------------------------------------------------------
# Verify, activate, extend, export
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_verify_reports_a_match_and_a_tampered_list(client, users, active_list):
    client.force_login(users["statistician"])
    url = reverse("randomization:list_verify", args=[active_list.pk])
    response = client.post(url, follow=True)
    message = messages_of(response)[0]
    assert "matches its recorded digest" in message
    assert f"recorded {active_list.digest}, computed {active_list.digest}" in message

    slot = Slot.objects.filter(stratum__key="TOR|impending", sequence=1).get()
    Slot.objects.filter(pk=slot.pk).update(arm="RER" if slot.arm == "IF" else "IF")
    response = client.post(url, follow=True)
    message = messages_of(response)[0]
    assert "DOES NOT MATCH" in message
    assert f"recorded {active_list.digest}, computed " in message
    assert ListEvent.objects.filter(action=ListEvent.Action.VERIFIED).count() == 2


@pytest.mark.django_db
def test_activate_needs_the_confirmation_then_activates_once(client, users, draft_list):
    client.force_login(users["statistician"])
    url = reverse("randomization:list_activate", args=[draft_list.pk])
    page = client.get(url).content.decode()
    assert services.list_digest_compute(draft_list) in page

    response = client.post(url, {})
    assert response.status_code == 200
    assert "confirm" in response.context["form"].errors
    draft_list.refresh_from_db()
    assert draft_list.status == AllocationList.Status.DRAFT

    response = client.post(url, {"confirm": "on"}, follow=True)
    draft_list.refresh_from_db()
    assert draft_list.status == AllocationList.Status.ACTIVE
    assert draft_list.digest
    assert "is active" in messages_of(response)[0]

    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "only a draft list can be activated" in messages_of(response)[0]


@pytest.mark.django_db
def test_activating_a_second_list_is_refused_with_a_message(
    client, users, active_list, draft_list
):
    client.force_login(users["statistician"])
    url = reverse("randomization:list_activate", args=[draft_list.pk])
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "Another list is active" in messages_of(response)[0]
    draft_list.refresh_from_db()
    assert draft_list.status == AllocationList.Status.DRAFT


@pytest.mark.django_db
def test_extend_adds_slots_to_a_stratum_with_a_reason(client, users, active_list):
    client.force_login(users["statistician"])
    url = reverse("randomization:list_extend", args=[active_list.pk])
    before = Slot.objects.filter(stratum__key="HAM|complete").count()
    previous_digest = active_list.digest

    response = client.post(
        url,
        {"level_site": "HAM", "level_fracture_status": "complete", "min_slots": "4"},
    )
    assert response.context["form"].errors["reason"] == ["This field is required."]

    response = client.post(
        url,
        {
            "level_site": "HAM",
            "level_fracture_status": "complete",
            "min_slots": "4",
            "reason": "Recruitment above target",
        },
    )
    assert response.status_code == 302
    assert Slot.objects.filter(stratum__key="HAM|complete").count() >= before + 4
    active_list.refresh_from_db()
    assert active_list.digest != previous_digest
    event = ListEvent.objects.get(action=ListEvent.Action.EXTENDED)
    assert event.reason == "Recruitment above target"
    assert services.list_verify(allocation_list=active_list).matches


@pytest.mark.django_db
def test_extending_a_draft_list_is_a_form_error(client, users, draft_list):
    client.force_login(users["statistician"])
    response = client.post(
        reverse("randomization:list_extend", args=[draft_list.pk]),
        {
            "level_site": "TOR",
            "level_fracture_status": "impending",
            "min_slots": "2",
            "reason": "test",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Only the active list is extended; edit a draft by generating it again."
    ]


@pytest.mark.django_db
def test_export_has_every_slot_with_block_data_and_study_ids(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    client.force_login(users["statistician"])
    response = client.get(reverse("randomization:list_export", args=[active_list.pk]))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (
        len(rows) == Slot.objects.filter(stratum__allocation_list=active_list).count()
    )
    assert list(rows[0]) == [
        "stratum",
        "sequence",
        "arm",
        "block",
        "block_size",
        "study_id",
    ]
    used = [r for r in rows if r["study_id"]]
    assert used == [
        {
            "stratum": "TOR|impending",
            "sequence": "1",
            "arm": slot.arm,
            "block": str(slot.block_number),
            "block_size": str(slot.block_size),
            "study_id": participant.study_id,
        }
    ]
