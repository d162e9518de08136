"""PROTOCOL §4: one function decides eligibility from the checklist."""

import pytest

from perform.eligibility import eligibility_evaluate
from perform.models import EligibilityCriterion
from tests.conftest import eligible_answers


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
