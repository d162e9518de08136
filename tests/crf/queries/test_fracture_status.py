"""Fracture status has one source of truth, the participant's (PROTOCOL §5,
§7; issue "One house", item 2): a baseline that disagrees raises one automatic
query on its fracture status, at save and in the nightly checks, closed once
they agree; the randomize confirmation page warns of it."""

import datetime

import pytest
from django.urls import reverse

from crf.forms import services
from crf.models import Baseline, DataQuery
from crf.models.clinical import INSTRUMENT_FIELDS_REQUIRED
from crf.queries import services as queries
from crf.queries.automatic import FRACTURE_CHECK, queries_autocheck
from perform import services as core
from randomization import services as rnd
from tests.clock import today
from tests.conftest import eligible_answers

WARNING = (
    "Screening says impending; the baseline form says complete: stratification "
    "will use impending. Resolve before randomizing if this is wrong."
)
# A complete baseline (Mirels 10: an impending fracture may be confirmed).
BASELINE_ANSWERS = {
    "primary_cancer": "breast",
    "lesion_region": "intertrochanteric",
    "mirels_site": 3,
    "mirels_pain": 3,
    "mirels_lesion": 2,
    "mirels_size": 2,
    "bone_loss_percent": 50,
    "visceral_metastases": False,
    "bone_metastases": "2-4",
    "haemoglobin_g_l": 120,
    "ecog": 1,
    "asa": 2,
    "expected_survival_months": 12,
    **{name: 70 if name == "eq5d_vas" else 2 for name in INSTRUMENT_FIELDS_REQUIRED},
}


def baseline():
    """The complete baseline, assessed yesterday (asked when the test runs)."""
    return {"assessment_date": today() - datetime.timedelta(days=1), **BASELINE_ANSWERS}


@pytest.fixture
def active_list(users, site_a, site_b):
    allocation_list = rnd.list_generate(
        actor=users["statistician"],
        name="L",
        seed=1,
        slots_per_stratum=8,
        sites=[site_a, site_b],
    )
    return rnd.list_activate(
        actor=users["statistician"], allocation_list=allocation_list
    )


@pytest.fixture
def consented(users, site_a, screen):
    """Screened as an *impending* fracture and consented: waits for
    randomization."""
    participant = screen(users["coordinator"], site_a, fracture_status="impending")
    core.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=today(),
        form_version="v1",
        obtained_by="Dr A",
    )
    participant.refresh_from_db()
    return participant


def baseline_save(actor, participant, fracture_status, *, complete=True, reason=""):
    """Enter the baseline, or change the one entered, through the service."""
    form = Baseline.objects.filter(participant=participant).first() or Baseline(
        participant=participant, **baseline()
    )
    form.fracture_status = fracture_status
    return services.form_save(actor=actor, form=form, complete=complete, reason=reason)


def fracture_queries():
    return DataQuery.objects.filter(check_code=FRACTURE_CHECK)


def randomize_page(client, users, participant) -> str:
    client.force_login(users["randomizer"])
    response = client.get(
        reverse("randomization:randomize", args=[participant.study_id])
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_disagreeing_baseline_raises_one_query_at_save_and_once_only(
    users, consented
):
    coordinator = users["coordinator"]
    baseline = baseline_save(coordinator, consented, "complete")

    query = fracture_queries().get()  # raised by the save itself
    assert (query.form, query.field_name, query.status) == (
        baseline,
        "fracture_status",
        DataQuery.Status.OPEN,
    )
    assert query.participant == consented and query.raised_by is None
    assert "says the fracture is complete; screening recorded impending" in (query.text)
    assert query.messages.get().action == "raised"

    # Saved again still disagreeing, then the nightly checks: no second query.
    baseline_save(coordinator, consented, "complete", reason="Rechecked the X-ray")
    assert queries_autocheck() == {"raised": 0, "closed": 0}
    assert fracture_queries().count() == 1


@pytest.mark.django_db
def test_correcting_the_baseline_closes_the_automatic_query(users, consented):
    coordinator = users["coordinator"]
    baseline_save(coordinator, consented, "complete")
    query = fracture_queries().get()
    queries.query_answer(actor=coordinator, query=query, text="Typo: impending.")

    baseline_save(coordinator, consented, "impending", reason="Query answered")

    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    last = query.messages.last()
    assert last.action == "closed" and last.by is None
    assert last.text.startswith("Resolved:")
    assert queries_autocheck() == {"raised": 0, "closed": 0}


@pytest.mark.django_db
def test_a_disagreement_the_data_manager_accepted_is_not_raised_again(users, consented):
    """After randomization the stratum cannot change: the data manager closes
    the query by hand (the documented decision) and it stays closed."""
    coordinator = users["coordinator"]
    baseline_save(coordinator, consented, "complete")
    queries.query_close(
        actor=users["datamanager"],
        query=fracture_queries().get(),
        text="Fracture completed after screening; stratum stands (deviation 12).",
    )
    baseline_save(coordinator, consented, "complete", reason="Signature page")
    assert queries_autocheck() == {"raised": 0, "closed": 0}
    assert not fracture_queries().exclude(status=DataQuery.Status.CLOSED).exists()


@pytest.mark.django_db
def test_a_screening_correction_that_disagrees_is_raised_by_the_nightly_check(
    users, consented
):
    coordinator = users["coordinator"]
    baseline_save(coordinator, consented, "impending")
    assert not fracture_queries().exists()
    core.participant_screening_update(
        actor=coordinator,
        participant=consented,
        reason="Fracture status entered wrongly",
        screening_date=consented.screening_date,
        age_at_screening=consented.age_at_screening,
        sex=consented.sex,
        answers=eligible_answers(),
        fracture_status="complete",
    )
    assert queries_autocheck() == {"raised": 1, "closed": 0}
    assert "says the fracture is impending; screening recorded complete" in (
        fracture_queries().get().text
    )


@pytest.mark.django_db
def test_an_agreeing_baseline_raises_no_query_and_no_warning(
    client, users, active_list, consented
):
    baseline_save(users["coordinator"], consented, "impending")
    assert queries_autocheck() == {"raised": 0, "closed": 0}
    assert not DataQuery.objects.exists()
    page = randomize_page(client, users, consented)
    assert 'id="pre-randomization-warnings"' not in page
    assert "Screening says" not in page
    assert 'id="randomize-form"' in page


@pytest.mark.django_db
def test_randomize_page_warns_of_a_baseline_entered_on_the_web_that_disagrees(
    client, users, active_list, consented
):
    """The issue's case: a coordinator enters a baseline saying "complete" for
    a participant screened as "impending"; the randomizer is warned, naming
    both values, and may still randomize (in the screened stratum)."""
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("crf:single_edit", args=[consented.study_id, "baseline"]),
        {
            **{k: ("false" if v is False else str(v)) for k, v in baseline().items()},
            "fracture_status": "complete",
            "save_complete": "1",
        },
    )
    assert response.status_code == 302
    assert Baseline.objects.get(participant=consented).fracture_status == "complete"
    assert fracture_queries().get().field_name == "fracture_status"

    page = randomize_page(client, users, consented)
    assert 'id="pre-randomization-warnings"' in page
    assert WARNING in page
    assert 'id="randomize-form"' in page

    client.post(reverse("randomization:randomize", args=[consented.study_id]))
    consented.refresh_from_db()
    assert consented.allocation.stratum.key == "TOR|impending"
    # Once randomized the page shows the allocation, not the warning.
    assert "Screening says" not in randomize_page(client, users, consented)


@pytest.mark.django_db
def test_a_draft_baseline_warns_before_randomization_but_raises_no_query(
    client, users, active_list, consented
):
    baseline_save(users["coordinator"], consented, "complete", complete=False)
    assert queries_autocheck() == {"raised": 0, "closed": 0}
    assert not fracture_queries().exists()
    page = randomize_page(client, users, consented)
    assert (
        "Screening says impending; the baseline form (draft) says complete: "
        "stratification will use impending." in page
    )
