"""Every block of the baseline table adds up to its column's participants:
each choice of each field is shown (zeros too) and nobody is dropped (a sex
of "other", a baseline not complete)."""

import datetime

import pytest

from crf.models import Baseline
from outcomes.services import report_build
from perform.models import FractureStatus, Sex
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
CUTOFF = D(2025, 12, 31)


@pytest.fixture
def trial(users, site_a):
    allocation_list(users["statistician"], [site_a])
    cohort = Cohort(site_a, users["coordinator"])
    sexes = list(Sex.values)
    for n, sex in enumerate(sexes * 2):
        p = cohort.add(
            "IF" if n % 2 else "RER",
            on=D(2025, 3, 1) + datetime.timedelta(days=n),
            sex=sex,
            fracture_status=FractureStatus.values[n % 2],
        )
        if n:  # the first participant's baseline is not complete
            cohort.form(
                Baseline,
                p,
                primary_cancer=Baseline.PrimaryCancer.values[
                    n % len(Baseline.PrimaryCancer.values)
                ],
            )
    return cohort


def blocks(table) -> dict[str, list[list[str]]]:
    """Block title → its rows (the indented ones under it)."""
    found, title = {}, None
    for row in table["rows"]:
        if not str(row[0]).startswith("  "):
            title = row[0]
            found[title] = []
        else:
            found[title].append(row)
    return found


def count(cell) -> int:
    return int(str(cell).split(" ")[0])


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_every_baseline_block_adds_up_to_the_participants(trial, kind):
    content = report_build(kind=kind, cutoff=CUTOFF).content
    section = next(s for s in content["sections"] if s["id"] == "baseline")
    table = section["tables"][0]
    participants = next(r for r in table["rows"] if r[0] == "Participants")[1:]
    assert sum(int(n) for n in participants[-1:]) == len(Sex.values) * 2
    by_block = blocks(table)
    for title in ("Sex", "Fracture status", "Primary cancer", "Visceral metastases"):
        rows = by_block[title]
        for column, total in enumerate(participants, start=1):
            assert sum(count(r[column]) for r in rows) == int(total), (title, column)
    sex_labels = [r[0].strip() for r in by_block["Sex"]]
    assert sex_labels == [label for _value, label in Sex.choices]
    # The incomplete baseline is counted, not dropped.
    assert "Not recorded" in [r[0].strip() for r in by_block["Primary cancer"]]
