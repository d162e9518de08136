"""The Methods Centre's randomization log (page, CSV, pagination) and stratum
balance (``views/monitoring.py``)."""

import csv
import io
import re
from fractions import Fraction

import pytest
from django.urls import reverse

from randomization import services
from tests.randomization.views.pages import ARM_LABELS


# ---------------------------------------------------------------------------
# Randomization log
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
    from infrastructure import pagination

    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)
    for _ in range(3):
        randomized(site_a)
    client.force_login(users["datamanager"])
    first = client.get(reverse("randomization:log"))
    second = client.get(reverse("randomization:log"), {"page": 2})
    assert len(first.context["page"]) == 2 and len(second.context["page"]) == 1
    assert "Page 1 of 2" in first.content.decode()


# ---------------------------------------------------------------------------
# Balance
# ---------------------------------------------------------------------------
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
