"""The randomize path takes eligibility from ``perform.eligibility``, the one
owner of the rule (PROTOCOL §4).

Its state query, read after the participant row lock, only reads the active
checklist with the participant's answers; ``eligibility_evaluate`` judges them
(the decision is recorded in ``randomization.services.randomize``). With no
second implementation there is nothing to hold equal over all 3^n answer
combinations; these tests hold what the path decides, and the reasons it
gives, equal to the function's verdict over the cases that exercise the
reading: each criterion answered yes, no and unknown, sets of answers
deviating on several criteria, ages around the minimum, a configured minimum
age and a deactivated criterion.
"""

import random

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from perform.eligibility import eligibility_evaluate
from perform.models import EligibilityAnswer, EligibilityCriterion, Participant
from randomization import services
from randomization.exceptions import NotRandomizable

ANSWERS = (True, False, None)
SAMPLED_ANSWER_SETS = 60


class _Undo(Exception):
    """Raised inside a savepoint to roll a successful randomization back."""


def _randomize_outcome(actor, participant) -> str | list[str]:
    """ "randomized", or the reasons given; nothing stays allocated."""
    try:
        with transaction.atomic():
            services.participant_randomize(actor=actor, participant=participant)
            raise _Undo
    except _Undo:
        return "randomized"
    except NotRandomizable as error:
        return error.reasons


def _expected_outcome(criteria, answers, age) -> str | list[str]:
    result = eligibility_evaluate(criteria=criteria, answers=answers, age=age)
    if result.eligible is True:
        return "randomized"
    return [f"eligibility: {reason}" for reason in result.unmet] + [
        f"eligibility not recorded: {text}" for text in result.missing
    ]


def _answer_sets(criteria):
    """All criteria met; each criterion in turn given each other answer; and
    a seeded sample of sets deviating on several criteria at once (mostly
    met, so that eligible, ineligible and undecided sets all occur)."""
    met = {c.code: c.kind == EligibilityCriterion.Kind.INCLUSION for c in criteria}
    yield met
    for criterion in criteria:
        for answer in ANSWERS:
            if answer != met[criterion.code]:
                yield met | {criterion.code: answer}
    rng = random.Random(20250201)
    for _ in range(SAMPLED_ANSWER_SETS):
        yield {
            code: rng.choices((value, not value, None), weights=(8, 1, 1))[0]
            for code, value in met.items()
        }


def _record(participant, answers, age) -> None:
    rows = list(
        EligibilityAnswer.objects.filter(participant=participant).select_related(
            "criterion"
        )
    )
    for row in rows:
        row.answer = answers.get(row.criterion.code)
    EligibilityAnswer.objects.bulk_update(rows, ["answer"])
    Participant.objects.filter(pk=participant.pk).update(age_at_screening=age)


@pytest.mark.django_db
def test_randomize_refuses_exactly_when_the_eligibility_function_does(
    users, site_a, active_list, consented
):
    participant = consented(site_a)
    criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    min_age = settings.TRIAL["MIN_AGE"]
    seen = set()
    for answers in _answer_sets(criteria):
        for age in (min_age - 1, min_age, min_age + 1):
            _record(participant, answers, age)
            expected = _expected_outcome(criteria, answers, age)
            outcome = _randomize_outcome(users["randomizer"], participant)
            assert outcome == expected, (answers, age)
            seen.add(
                eligibility_evaluate(
                    criteria=criteria, answers=answers, age=age
                ).eligible
            )
    assert seen == {True, False, None}, "every verdict was exercised"


@pytest.mark.django_db
def test_randomize_follows_the_configured_minimum_age(
    users, site_a, active_list, consented
):
    participant = consented(site_a)  # aged 64
    with override_settings(TRIAL=settings.TRIAL | {"MIN_AGE": 65}):
        assert _randomize_outcome(users["randomizer"], participant) == [
            "eligibility: Age 64 is below the minimum of 65 years"
        ]
    assert _randomize_outcome(users["randomizer"], participant) == "randomized"


@pytest.mark.django_db
def test_a_deactivated_criterion_no_longer_decides_randomization(
    users, site_a, active_list, consented
):
    participant = consented(site_a)
    EligibilityAnswer.objects.filter(
        participant=participant, criterion__code="asa_3_or_less"
    ).update(answer=None)
    assert _randomize_outcome(users["randomizer"], participant) == [
        "eligibility not recorded: ASA class 3 or less"
    ]
    EligibilityCriterion.objects.filter(code="asa_3_or_less").update(is_active=False)
    result = services.participant_randomize(
        actor=users["randomizer"], participant=participant
    )
    assert result.created
