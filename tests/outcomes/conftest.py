"""A small trial with outcomes in both arms, for the report tests."""

import datetime

import pytest

from crf.models import (
    AdverseEvent,
    Baseline,
    DataQuery,
    Death,
    FollowUp,
    Operative,
    ProtocolDeviation,
    Reoperation,
)
from tests.outcomes.cohort import Cohort, allocation_list

D = datetime.date
CUTOFF = D(2026, 6, 30)


@pytest.fixture
def trial(users, site_a, site_b):
    return trial_build(users, site_a, site_b)


def trial_build(users, site_a, site_b):
    """Twelve participants over two sites and both arms: deaths, failures,
    30-day complications, SAEs in three body systems, a deviation, a query."""
    allocation_list(users["statistician"], [site_a, site_b])
    tor = Cohort(site_a, users["coordinator"])
    ham = Cohort(site_b, users["coordinator2"])
    plan = [
        # cohort, arm, surgery, death day, reoperation day, SAE (day, system)
        (tor, "IF", D(2025, 3, 1), 200, 60, (10, "infections")),
        (tor, "IF", D(2025, 4, 1), None, None, None),
        (tor, "IF", D(2025, 5, 1), 20, None, None),
        (ham, "IF", D(2025, 6, 1), None, 15, (15, "injury")),
        (ham, "IF", D(2025, 7, 1), 400, None, None),
        (ham, "IF", D(2025, 8, 1), None, 100, None),
        (tor, "RER", D(2025, 3, 5), None, None, (40, "cardiac")),
        (tor, "RER", D(2025, 4, 5), 90, None, None),
        (tor, "RER", D(2025, 5, 5), None, None, None),
        (ham, "RER", D(2025, 6, 5), 300, 200, (5, "infections")),
        (ham, "RER", D(2025, 7, 5), None, None, None),
        (ham, "RER", D(2025, 8, 5), None, None, None),
    ]
    people = []
    for cohort, arm, surgery, death, reoperation, sae in plan:
        p = cohort.add(arm, on=surgery - datetime.timedelta(days=2))
        cohort.form(Operative, p, surgery_date=surgery, procedure=arm)
        cohort.form(
            Baseline,
            p,
            primary_cancer="breast",
            ecog=1,
            asa=2,
            eq5d_vas=50,
            fracture_status="impending",
        )
        for code, day in (("2w", 14), ("6w", 42), ("4m", 120), ("6m", 183)):
            if death is None or day < death:
                cohort.form(
                    FollowUp,
                    p,
                    visit=code,
                    visit_date=surgery + datetime.timedelta(days=day),
                    vital_status="alive",
                    eq5d_vas=60 + day % 7,
                )
        if death is not None:
            cohort.form(
                Death,
                p,
                death_date=surgery + datetime.timedelta(days=death),
                primary_cause="progression",
            )
        if reoperation is not None:
            cohort.form(
                Reoperation,
                p,
                reoperation_date=surgery + datetime.timedelta(days=reoperation),
                reason="infection",
            )
        if sae is not None:
            cohort.form(
                AdverseEvent,
                p,
                term=f"SAE {p.study_id}",
                body_system=sae[1],
                onset_date=surgery + datetime.timedelta(days=sae[0]),
                clavien_dindo="IIIb",
                serious=True,
                sae_hospitalization=True,
                outcome="recovered",
            )
        people.append(p)
    tor.form(
        ProtocolDeviation,
        people[1],
        deviation_date=D(2025, 5, 1),
        category="visit",
        description="Late visit",
        severity="minor",
    )
    from django.contrib.contenttypes.models import ContentType

    DataQuery.objects.create(
        participant=people[2],
        form_type=ContentType.objects.get_for_model(Operative),
        form_id=1,
        text="Please check",
        raised_by=users["datamanager"],
    )
    return people
