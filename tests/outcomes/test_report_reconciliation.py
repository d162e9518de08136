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


# --- every choice of every field, and every total against the headline -------

ALL_D = D(2025, 3, 1)


@pytest.fixture
def every_choice(users, site_a, site_b):
    """One participant per choice of the longest list (primary cancer, 8),
    twice, over two sites and both arms; every other field cycles through its
    choices, so each choice of each baseline field is used at least once, and
    the safety forms cycle through every grade, body system, relatedness,
    cause of death and reason for reoperation."""
    from crf.models import AdverseEvent, Death, Operative, Reoperation
    from crf.models.events import BodySystem, ClavienDindo

    allocation_list(users["statistician"], [site_a, site_b])
    cohorts = [
        Cohort(site_a, users["coordinator"]),
        Cohort(site_b, users["coordinator2"]),
    ]
    cancers = Baseline.PrimaryCancer.values
    systems, grades = BodySystem.values, ClavienDindo.values
    relatedness = AdverseEvent.Relatedness.values
    people = []
    for n in range(max(2 * len(cancers), len(systems))):
        cohort = cohorts[n % 2]
        surgery = ALL_D + datetime.timedelta(days=3 * n)
        arm = "RER" if n % 4 < 2 else "IF"
        p = cohort.add(
            arm,
            on=surgery - datetime.timedelta(days=1),
            sex=Sex.values[n % len(Sex.values)],
            fracture_status=FractureStatus.values[n % 2],
        )
        cohort.form(Operative, p, surgery_date=surgery, procedure=arm)
        cohort.form(
            Baseline,
            p,
            primary_cancer=cancers[n % len(cancers)],
            lesion_region=Baseline.LesionRegion.values[n % 3],
            visceral_metastases=bool(n % 2),
            bone_metastases=Baseline.BoneMetastases.values[n % 3],
            ecog=n % 5,
            asa=1 + n % 5,
        )
        cohort.form(
            AdverseEvent,
            p,
            term=f"AE {n}",
            body_system=systems[n % len(systems)],
            onset_date=surgery + datetime.timedelta(days=5),
            clavien_dindo=grades[n % len(grades)],
            serious=n % 3 == 0,
            sae_hospitalization=n % 3 == 0,
            relatedness=relatedness[n % len(relatedness)],
            expected=n % 2 == 0,
            outcome="recovered",
        )
        if n % 5 == 1:
            cohort.form(
                Reoperation,
                p,
                reoperation_date=surgery + datetime.timedelta(days=30),
                reason=Reoperation.Reason.values[n % len(Reoperation.Reason.values)],
            )
        if n % 4 == 3:
            cohort.form(
                Death,
                p,
                death_date=surgery + datetime.timedelta(days=60),
                primary_cause=Death.Cause.values[n % len(Death.Cause.values)],
            )
        people.append(p)
    return people


def _section(content, section_id):
    return next(s for s in content["sections"] if s["id"] == section_id)


def _columns_add_up(table, title, totals, label_any):
    """Every block of ``table`` adds up to the row ``label_any`` per column."""
    by_block = blocks(table)
    any_row = next(r for r in table["rows"] if r[0] == label_any)
    for column in range(1, len(any_row)):
        assert sum(count(r[column]) for r in by_block[title]) == count(
            any_row[column]
        ), (table["title"], title, column)
    if totals is not None:
        assert [count(c) for c in any_row[1:]] == totals


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_every_choice_of_every_baseline_field_is_shown_and_adds_up(every_choice, kind):
    content = report_build(kind=kind, cutoff=CUTOFF).content
    table = _section(content, "baseline")["tables"][0]
    participants = [
        int(n) for n in next(r for r in table["rows"] if r[0] == "Participants")[1:]
    ]
    assert participants[-1] == len(every_choice) == content["participants"]
    if kind == "closed":
        assert sum(participants[:-1]) == participants[-1]
    by_block = blocks(table)
    expected = {
        "Sex": Sex.choices,
        "Fracture status": FractureStatus.choices,
        "Primary cancer": Baseline.PrimaryCancer.choices,
        "Lesion region": Baseline.LesionRegion.choices,
        "Visceral metastases": [(True, "Yes"), (False, "No")],
        "Bone metastases": Baseline.BoneMetastases.choices,
        "ECOG": [(n, str(n)) for n in range(5)],
        "ASA": [(n, str(n)) for n in range(1, 6)],
    }
    assert set(expected) <= set(by_block)
    for title, choices in expected.items():
        rows = by_block[title]
        assert [r[0].strip() for r in rows] == [label for _v, label in choices], title
        assert all(count(r[-1]) >= 1 for r in rows), title  # each choice used
        for column, total in enumerate(participants, start=1):
            assert sum(count(r[column]) for r in rows) == total, (title, column)


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_safety_flow_and_recruitment_totals_reconcile(every_choice, kind):
    from crf.models import AdverseEvent, Death, Reoperation
    from crf.models.events import BodySystem, ClavienDindo

    content = report_build(kind=kind, cutoff=CUTOFF).content
    safety = _section(content, "safety")
    grade, system, serious, deaths, reoperations = safety["tables"]
    n_events = AdverseEvent.objects.count()
    _columns_add_up(grade, "Clavien-Dindo grade", None, "Any adverse event")
    _columns_add_up(system, "Body system", None, "Any adverse event")
    assert (
        count(next(r for r in grade["rows"] if r[0] == "Any adverse event")[-1])
        == n_events
    )
    assert [r[0].strip() for r in blocks(grade)["Clavien-Dindo grade"]] == [
        label for _v, label in ClavienDindo.choices
    ]
    assert [r[0].strip() for r in blocks(system)["Body system"]] == [
        label for _v, label in BodySystem.choices
    ]
    for title in ("Related to the surgery or implant", "Expectedness"):
        _columns_add_up(serious, title, None, "Any serious adverse event")
    _columns_add_up(reoperations, "Reason", None, "Any reoperation")
    assert [r[0].strip() for r in blocks(reoperations)["Reason"]] == [
        label for _v, label in Reoperation.Reason.choices
    ]
    any_death = next(r for r in deaths["rows"] if r[0] == "Any death")
    causes = [r for r in deaths["rows"] if r[0].startswith("  ")]
    assert [r[0].strip() for r in causes] == [
        label for _v, label in Death.Cause.choices
    ]
    for column in range(1, len(any_death)):
        assert sum(int(r[column]) for r in causes) == int(any_death[column])
    assert int(any_death[-1]) == Death.objects.count()

    # Recruitment: the site table's total is the sum of its sites and the
    # headline count; the flow diagram's columns add up to the randomized.
    recruitment = _section(content, "recruitment")["tables"][0]
    *sites, total = recruitment["rows"]
    assert total[0] == "All"
    assert int(total[4]) == sum(int(r[4]) for r in sites) == content["participants"]
    flow = content["figures"]["consort"]
    assert sum(c["allocated"] for c in flow["columns"]) == content["participants"]
    assert flow["randomized"] == content["participants"] + flow["excluded_no_data_use"]
    assert (
        flow["ineligible"]
        + flow["declined"]
        + flow["not_yet_randomized"]
        + flow["randomized"]
        == flow["screened"]
    )
    for c in flow["columns"]:
        assert (
            c["received"] + c["other_procedure"] + c["not_operated"] == c["allocated"]
        )
