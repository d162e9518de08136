"""PROTOCOL §4: one function decides eligibility from the checklist."""

import pytest
from django.urls import reverse

from perform.eligibility import eligibility_evaluate, participant_eligibility
from perform.models import EligibilityCriterion
from tests.conftest import eligible_answers
from tests.factories import api_client_for


@pytest.fixture
def criteria(reference_data):
    return list(EligibilityCriterion.objects.all())


@pytest.mark.django_db
def test_all_criteria_met_is_eligible(criteria):
    result = eligibility_evaluate(criteria=criteria, answers=eligible_answers(), age=60)
    assert result.eligible is True
    assert result.unmet == [] and result.missing == []


@pytest.mark.django_db
def test_an_exclusion_present_makes_ineligible_with_its_reason(criteria):
    answers = eligible_answers() | {"rcc_oligometastatic": True}
    result = eligibility_evaluate(criteria=criteria, answers=answers, age=60)
    assert result.eligible is False
    assert result.reasons == [
        "Excluded: Renal cell carcinoma with oligometastatic disease"
    ]


@pytest.mark.django_db
def test_an_unmet_inclusion_is_ineligible_even_if_others_are_unknown(criteria):
    answers = {"survival_6_months": False}
    result = eligibility_evaluate(criteria=criteria, answers=answers, age=60)
    assert result.eligible is False
    assert result.unmet == ["Not met: Expected survival of 6 months or more"]
    assert len(result.missing) == len(criteria) - 1


@pytest.mark.django_db
def test_missing_answers_leave_eligibility_undecided(criteria):
    answers = eligible_answers() | {"asa_3_or_less": None}
    result = eligibility_evaluate(criteria=criteria, answers=answers, age=60)
    assert result.eligible is None
    assert result.missing == ["ASA class 3 or less"]


@pytest.mark.django_db
def test_recorded_age_below_minimum_is_ineligible_whatever_the_answers(criteria):
    result = eligibility_evaluate(criteria=criteria, answers=eligible_answers(), age=17)
    assert result.eligible is False
    assert result.unmet == ["Age 17 is below the minimum of 18 years"]


@pytest.mark.django_db
def test_inactive_criteria_are_ignored(criteria):
    EligibilityCriterion.objects.filter(code="asa_3_or_less").update(is_active=False)
    fresh = list(EligibilityCriterion.objects.all())
    answers = eligible_answers() | {"asa_3_or_less": None}
    assert (
        eligibility_evaluate(criteria=fresh, answers=answers, age=60).eligible is True
    )


@pytest.mark.django_db
def test_the_checklist_gives_every_active_criterion_its_answer_and_verdict(criteria):
    EligibilityCriterion.objects.filter(code="unable_follow_up").update(is_active=False)
    fresh = list(EligibilityCriterion.objects.all())
    answers = {"age_adult": True, "rcc_oligometastatic": True, "unable_follow_up": True}
    result = eligibility_evaluate(criteria=fresh, answers=answers, age=60)
    lines = {line.criterion.code: (line.answer, line.met) for line in result.checklist}
    assert len(lines) == len(fresh) - 1, "inactive criteria are left out"
    assert lines["age_adult"] == (True, True)
    assert lines["rcc_oligometastatic"] == (True, False)
    assert lines["asa_3_or_less"] == (None, None)
    assert [c.code for c in result.unmet_criteria] == ["rcc_oligometastatic"]


@pytest.mark.django_db
def test_page_api_log_and_summary_show_the_functions_verdict(
    client, users, site_a, screen
):
    """A patient under the minimum age, the age criterion not yet answered:
    ineligible for the age alone, and every view says so."""
    answers = eligible_answers() | {"age_adult": None}
    minor = screen(users["coordinator"], site_a, age_at_screening=17, answers=answers)
    assert minor.status == "ineligible"
    expected = participant_eligibility(minor)
    assert expected.unmet == ["Age 17 is below the minimum of 18 years"]

    client.force_login(users["datamanager"])
    page = client.get(reverse("participant_detail", args=[minor.study_id]))
    assert page.context["checklist"] == expected.checklist

    body = api_client_for(users["datamanager"]).get(
        f"/api/v1/participants/{minor.study_id}/"
    )
    assert body.json()["eligibility"] == {
        "answers": {line.criterion.code: line.answer for line in expected.checklist},
        "eligible": False,
        "unmet": expected.unmet,
        "missing": expected.missing,
    }

    (row,) = client.get(reverse("screening_log")).context["rows"]
    assert row.reasons == ["Age 17 is below the minimum of 18 years"]
    summary = client.get(reverse("screening_summary")).context["summary"]
    assert summary.ineligibility_reasons == [("Age below the minimum of 18 years", 1)]
