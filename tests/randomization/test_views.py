"""Randomization pages: the randomize flow, allocation pages and PDF, the
Methods Centre log and balance, list management, and what each role sees."""

import csv
import io
import re
from fractions import Fraction

import pytest
from django.contrib import admin
from django.urls import reverse
from pypdf import PdfReader

from perform.models import ParticipantStatus
from randomization import services
from randomization.models import AllocationList, ListEvent, Slot

ARM_LABELS = {
    "IF": "Internal fixation",
    "RER": "Resection with endoprosthetic reconstruction",
}


def randomize_url(participant):
    return reverse("randomization:randomize", args=[participant.study_id])


def allocation_url(participant):
    return reverse("randomization:allocation", args=[participant.study_id])


def used_slots():
    return Slot.objects.filter(participant__isnull=False)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def randomized(users, consented):
    """``randomized(site)`` → (participant, slot) randomized through the service."""

    def _randomized(site, fracture_status="impending"):
        participant = consented(site, fracture_status)
        result = services.participant_randomize(
            actor=users["randomizer"], participant=participant
        )
        participant.refresh_from_db()
        return participant, result.slot

    return _randomized


@pytest.fixture
def short_list(users, site_a, site_b):
    """An active list with exactly two slots (one block of 2) per stratum."""
    allocation_list = services.list_generate(
        actor=users["statistician"],
        name="Short",
        seed=7,
        block_sizes=[2],
        slots_per_stratum=2,
        sites=[site_a, site_b],
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


@pytest.fixture
def draft_list(users, site_a, site_b):
    return services.list_generate(
        actor=users["statistician"],
        name="Draft",
        seed=99,
        slots_per_stratum=6,
        sites=[site_a, site_b],
    )


# ---------------------------------------------------------------------------
# Randomize: confirmation, then result
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_confirmation_page_shows_stratum_consent_and_eligibility(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a, "complete")
    client.force_login(users["randomizer"])
    response = client.get(randomize_url(participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert participant.study_id in page
    assert "Toronto General" in page
    assert re.search(r'id="stratum">TOR, complete<', page)
    assert "form version v1.0" in page
    assert "every criterion met" in page
    assert 'id="randomize-form"' in page
    assert 'id="cannot-randomize"' not in page
    assert not used_slots().exists()


@pytest.mark.django_db
def test_confirm_randomizes_once_and_a_repeated_post_returns_the_same_allocation(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    first = client.post(randomize_url(participant))
    assert first.status_code == 302
    assert first["Location"] == allocation_url(participant)
    slot = used_slots().get()
    assert slot.participant == participant
    assert (slot.stratum.key, slot.sequence) == ("TOR|impending", 1)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED

    again = client.post(randomize_url(participant), follow=True)
    assert again.redirect_chain == [(allocation_url(participant), 302)]
    assert used_slots().get() == slot
    assert f"{participant.study_id} was already randomized" in " ".join(
        messages_of(again)
    )
    # The randomizer sees the arm, not the number within the stratum.
    assert again.context["allocation"].arm == slot.arm
    assert again.context["allocation"].sequence is None

    # The confirmation page now links to the result and offers no button.
    page = client.get(randomize_url(participant)).content.decode()
    assert 'id="allocation-link"' in page
    assert 'id="randomize-form"' not in page


@pytest.mark.django_db
def test_participant_not_consented_is_refused_with_the_reasons(
    client, users, site_a, active_list, screen
):
    participant = screen(users["coordinator"], site_a)
    client.force_login(users["randomizer"])
    page = client.get(randomize_url(participant)).content.decode()
    assert "status is eligible, not consented" in page
    assert "no consent is recorded" in page
    assert 'id="randomize-form"' not in page

    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert "This participant cannot be randomized: status is eligible" in (
        response.content.decode()
    )
    assert 'id="randomize-error"' in response.content.decode()
    assert not used_slots().exists()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ELIGIBLE


@pytest.mark.django_db
def test_without_an_active_list_the_page_says_randomization_is_closed(
    client, users, site_a, consented, draft_list
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    page = client.get(randomize_url(participant)).content.decode()
    assert "Randomization is not open: no allocation list is active." in page
    assert 'id="randomize-form"' not in page

    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert "Randomization is not open: no allocation list is active." in (
        response.context["form"].non_field_errors()
    )
    assert not used_slots().exists()


@pytest.mark.django_db
def test_exhausted_stratum_is_a_clear_error_and_allocates_nothing(
    client, users, site_a, short_list, consented
):
    client.force_login(users["randomizer"])
    participants = [consented(site_a) for _ in range(3)]
    for participant in participants[:2]:
        assert client.post(randomize_url(participant)).status_code == 302
    response = client.post(randomize_url(participants[2]))
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors == [
        "The allocation list for stratum TOR|impending is used up. Nobody was "
        "randomized; the statisticians have been alerted to extend the list."
    ]
    assert used_slots().count() == 2
    assert not Slot.objects.filter(participant=participants[2]).exists()
    participants[2].refresh_from_db()
    assert participants[2].status == ParticipantStatus.CONSENTED


@pytest.mark.django_db
def test_a_site_without_a_stratum_in_the_list_is_a_clear_error(
    client, users, active_list, consented
):
    from perform import roles
    from tests.factories import SiteFactory, user_with_role

    new_site = SiteFactory(code="OSL", name="Oslo", time_zone="Europe/Oslo")
    coordinator = user_with_role(
        roles.SITE_COORDINATOR, username="coord_osl", sites=[new_site]
    )
    participant = consented(new_site, coordinator=coordinator)
    client.force_login(users["randomizer"])
    response = client.post(randomize_url(participant))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The active list has no stratum OSL|impending; the statisticians must add "
        "it before this participant can be randomized."
    ]
    assert not used_slots().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_coordinator_may_not_randomize(
    client, users, site_a, active_list, consented, method
):
    participant = consented(site_a)
    client.force_login(users["coordinator"])
    response = getattr(client, method)(randomize_url(participant))
    assert response.status_code == 403
    assert not used_slots().exists()


@pytest.mark.django_db
def test_randomize_page_of_an_unknown_participant_is_404(client, users, active_list):
    client.force_login(users["randomizer"])
    response = client.get(reverse("randomization:randomize", args=["PRF-TOR-9999"]))
    assert response.status_code == 404


# ---------------------------------------------------------------------------
# The result page, its PDF, and the participant page
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_result_page_shows_the_allocation_in_site_time(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    client.force_login(users["randomizer"])
    response = client.get(allocation_url(participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{ARM_LABELS[slot.arm]} ({slot.arm})" in page
    assert re.search(r'id="allocation-stratum">TOR, impending<', page)
    assert 'id="allocation-sequence"' not in page  # statisticians only
    assert "Number within stratum" not in page
    assert re.search(r'id="allocation-by">randomizer<', page)
    assert "Randomized at (America/Toronto)" in page
    assert re.search(r"E[SD]T</dd>", page)  # Toronto time, not UTC
    assert response["Cache-Control"].startswith("max-age=0")

    client.force_login(users["statistician"])
    page = client.get(allocation_url(participant)).content.decode()
    assert re.search(r'id="allocation-sequence">1<', page)


@pytest.mark.django_db
def test_pdf_confirmation_names_the_participant_and_the_arm(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    client.force_login(users["coordinator"])
    response = client.get(
        reverse("randomization:allocation_pdf", args=[participant.study_id])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    assert participant.study_id in text
    assert ARM_LABELS[slot.arm] in text
    assert "NCT06863129" in text
    assert "TOR, impending" in text
    assert "randomizer" in text
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "block" not in text.lower()
    assert "within stratum" not in text

    client.force_login(users["statistician"])
    response = client.get(
        reverse("randomization:allocation_pdf", args=[participant.study_id])
    )
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    # Filed at the site: no number even in the statistician's copy.
    assert participant.study_id in text and "within stratum" not in text
    assert "block" not in text.lower()


@pytest.mark.django_db
def test_allocation_pages_are_404_before_randomization(
    client, users, site_a, active_list, consented
):
    participant = consented(site_a)
    client.force_login(users["randomizer"])
    assert client.get(allocation_url(participant)).status_code == 404
    pdf = reverse("randomization:allocation_pdf", args=[participant.study_id])
    assert client.get(pdf).status_code == 404


@pytest.mark.django_db
def test_site_coordinator_sees_the_arm_and_the_other_site_does_not(
    client, users, site_a, active_list, randomized
):
    participant, slot = randomized(site_a)
    detail = reverse("participant_detail", args=[participant.study_id])

    client.force_login(users["coordinator"])
    page = client.get(detail).content.decode()
    assert f'data-arm="{slot.arm}"' in page
    assert ARM_LABELS[slot.arm] in page
    assert 'id="randomize"' not in page  # no randomize permission
    assert client.get(allocation_url(participant)).status_code == 200

    client.force_login(users["coordinator2"])
    assert client.get(detail).status_code == 404
    assert client.get(allocation_url(participant)).status_code == 404
    pdf = reverse("randomization:allocation_pdf", args=[participant.study_id])
    assert client.get(pdf).status_code == 404


@pytest.mark.django_db
def test_participant_page_offers_randomize_to_the_randomizer_only_when_consented(
    client, users, site_a, active_list, consented, screen
):
    waiting = consented(site_a)
    eligible = screen(users["coordinator"], site_a)
    client.force_login(users["randomizer"])
    page = client.get(reverse("participant_detail", args=[waiting.study_id]))
    assert f'href="{randomize_url(waiting)}"' in page.content.decode()
    page = client.get(reverse("participant_detail", args=[eligible.study_id]))
    assert 'id="randomize"' not in page.content.decode()
    assert 'id="no-allocation"' in page.content.decode()


# ---------------------------------------------------------------------------
# Randomization log and balance
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_log_lists_allocations_filters_by_site_and_exports_csv(
    client, users, site_a, site_b, active_list, randomized
):
    tor, _ = randomized(site_a)
    ham, ham_slot = randomized(site_b, "complete")
    client.force_login(users["datamanager"])
    url = reverse("randomization:log")
    page = client.get(url).content.decode()
    assert tor.study_id in page and ham.study_id in page

    page = client.get(url, {"site": "HAM"}).content.decode()
    assert ham.study_id in page and tor.study_id not in page

    response = client.get(url, {"site": "HAM", "format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    # The data manager sees arms (as on the balance page), not sequence numbers.
    assert rows[0] == [
        "study_id",
        "site",
        "stratum",
        "arm",
        "randomized_at",
        "randomized_by",
    ]
    assert rows[1:] == [
        [
            ham.study_id,
            "HAM",
            "HAM|complete",
            ham_slot.arm,
            ham_slot.allocated_at.isoformat(),
            "randomizer",
        ]
    ]


def log_csv_rows(client, **params):
    response = client.get(reverse("randomization:log"), {**params, "format": "csv"})
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.django_db
def test_log_columns_follow_the_role(client, users, site_a, active_list, randomized):
    """Arm for data manager and statistician, sequence for the statistician,
    neither for the randomizer: in the page and in the CSV."""
    randomized(site_a)
    participant, slot = randomized(site_a)
    base = ["study_id", "site", "stratum", "randomized_at", "randomized_by"]
    expected = {
        "randomizer": (base, False, False),
        "datamanager": ([*base[:3], "arm", *base[3:]], True, False),
        "statistician": ([*base[:3], "arm", "sequence", *base[3:]], True, True),
    }
    for role, (header, arms, sequence) in expected.items():
        client.force_login(users[role])
        rows = log_csv_rows(client)
        assert rows[0] == header, role
        newest = dict(zip(rows[0], rows[1], strict=True))
        assert newest["study_id"] == participant.study_id
        assert newest["stratum"] == "TOR|impending"
        assert newest.get("arm") == (slot.arm if arms else None), role
        assert newest.get("sequence") == ("2" if sequence else None), role
        page = client.get(reverse("randomization:log")).content.decode()
        assert ('<th scope="col">Arm</th>' in page) is arms, role
        assert (f'title="{ARM_LABELS[slot.arm]}"' in page) is arms, role
        assert ("No. in stratum" in page) is sequence, role
        assert ("<td>2</td>" in page) is sequence, role


@pytest.mark.django_db
def test_log_is_paginated(client, users, site_a, active_list, randomized, monkeypatch):
    from randomization import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for _ in range(3):
        randomized(site_a)
    client.force_login(users["datamanager"])
    first = client.get(reverse("randomization:log"))
    second = client.get(reverse("randomization:log"), {"page": 2})
    assert len(first.context["page"]) == 2 and len(second.context["page"]) == 1
    assert "Page 1 of 2" in first.content.decode()


@pytest.mark.django_db
def test_balance_shows_counts_imbalance_and_flags_low_strata(
    client, users, site_a, short_list, randomized
):
    _, slot = randomized(site_a)
    client.force_login(users["datamanager"])
    response = client.get(reverse("randomization:balance"))
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r.key == "TOR|impending")
    assert row.allocated == 1 and row.slots_left == 1 and row.low
    assert row.counts[slot.arm] == 1
    page = response.content.decode()
    assert 'data-stratum="TOR|impending" class="table-warning"' in page
    assert 'data-low="true"' in page


@pytest.fixture
def hand_list(users, site_a):
    """An imported active list whose TOR|impending stratum is written out by
    hand: [IF, RER] [RER, IF, IF, RER] [IF, IF, RER, RER]."""
    arms = ["IF", "RER", "RER", "IF", "IF", "RER", "IF", "IF", "RER", "RER"]
    blocks = [1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    rows = [
        f"TOR|impending,{n},{arm},{block}"
        for n, (arm, block) in enumerate(zip(arms, blocks, strict=True), start=1)
    ]
    allocation_list = services.list_import(
        actor=users["statistician"],
        name="By hand",
        csv_text="stratum,sequence,arm,block\n" + "\n".join(rows) + "\n",
    )
    return services.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


@pytest.mark.django_db
def test_balance_shows_the_statistician_the_convergence_guessing_rate(
    client, users, site_a, hand_list, randomized
):
    """Eight allocations: IF RER | RER IF IF RER | IF IF. A guesser choosing
    the arm allocated least so far (a tie half right) scores
    0.5 + 1 + 0.5 + 1 + 0.5 + 1 + 0.5 + 0 = 5 of 8 = 62.5%; the design leads to
    expect 1.5 (block of 2) + 17/6 (block of 4) + 7/6 (2 slots of a block of
    4) = 5.5 of 8 = 68.75%."""
    for _ in range(8):
        randomized(site_a)
    client.force_login(users["statistician"])
    response = client.get(reverse("randomization:balance"))
    row = next(r for r in response.context["rows"] if r.key == "TOR|impending")
    assert (row.guessing.n, row.guessing.observed_score) == (8, 5)
    assert row.guessing.expected_score == Fraction(11, 2)
    page = response.content.decode()
    assert re.search(r'data-guessing="observed">62\.5% .*\(n 8\)', page)
    assert re.search(r'data-guessing="expected">68\.8% .*\(n 8\)', page)
    assert "50.0% would be perfect concealment" in page

    # The data manager sees the balance, not what is derived from blocks.
    client.force_login(users["datamanager"])
    response = client.get(reverse("randomization:balance"))
    assert all(r.guessing is None for r in response.context["rows"])
    page = response.content.decode()
    assert "data-guessing" not in page and "guess" not in page.lower()


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
# List management (statisticians)
# ---------------------------------------------------------------------------
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
