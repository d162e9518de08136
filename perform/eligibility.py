"""PROTOCOL §4: the one function that decides eligibility from a checklist.

``eligibility_evaluate`` owns the rule: what an answer to an inclusion or an
exclusion criterion means, that the recorded age must reach
``TRIAL["MIN_AGE"]``, and when the checklist as a whole makes a participant
eligible, ineligible or not yet decided. Every place that judges eligibility
asks it, and nothing else reads answers as met or not met (no model method,
no ORM filter, no SQL):

* the screening services set the status from it (``perform.services``);
* the participant page's checklist and the API's participant resource show
  its ``checklist`` and verdict (``participant_eligibility``);
* the screening log and summary take their ineligibility reasons from it;
* the randomize path refuses unless it says eligible
  (``randomization.services.randomize``; its state query only reads the
  answers, see the decision recorded there).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from django.conf import settings

from perform.models import EligibilityCriterion, Participant


class Criterion(Protocol):
    """What the rule reads of a checklist line: an ``EligibilityCriterion``,
    or a lighter row with the same fields (the randomize path's)."""

    code: str
    kind: str
    text: str
    is_active: bool


class CriterionOutcome(NamedTuple):
    """One active checklist line: the answer given and whether it is met
    (``None`` while unanswered)."""

    criterion: Criterion
    answer: bool | None
    met: bool | None


@dataclass(frozen=True)
class EligibilityResult:
    """Outcome of a checklist: ``eligible`` is True/False, or None while incomplete.

    ``unmet`` and ``missing`` are human-readable, in checklist order (a recorded
    age below the minimum first); ``checklist`` has every active criterion.
    """

    eligible: bool | None
    unmet: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    checklist: list[CriterionOutcome] = field(default_factory=list)
    age_reason: str = ""  # the first of ``unmet`` when the age is below the minimum

    @property
    def reasons(self) -> list[str]:
        """Human-readable ineligibility reasons, in checklist order."""
        return list(self.unmet)

    @property
    def unmet_criteria(self) -> list[Criterion]:
        """The active criteria whose answer is recorded and not met."""
        return [line.criterion for line in self.checklist if line.met is False]


INCLUSION = EligibilityCriterion.Kind.INCLUSION


def _met(criterion: Criterion, answer: bool | None) -> bool | None:
    # An inclusion criterion is met by *yes*; an exclusion criterion by *no*
    # (the patient does not have it).
    if answer is None:
        return None
    return answer if criterion.kind == INCLUSION else not answer


def eligibility_evaluate(
    *,
    criteria: Iterable[Criterion],
    answers: Mapping[str, bool | None],
    age: int | None,
) -> EligibilityResult:
    """Evaluate the active checklist against answers keyed by criterion code.

    A participant is ineligible as soon as one answered criterion is not met (or
    the recorded age is below ``TRIAL['MIN_AGE']``), eligible when every active
    criterion is answered and met, and undecided (``None``) otherwise. Inactive
    criteria and answers to them are ignored; a criterion without an answer
    (absent or ``None``) is missing.
    """
    unmet, missing, checklist = [], [], []
    min_age = settings.TRIAL["MIN_AGE"]
    age_reason = ""
    if age is not None and age < min_age:
        age_reason = f"Age {age} is below the minimum of {min_age} years"
        unmet.append(age_reason)
    for criterion in criteria:
        if not criterion.is_active:
            continue
        answer = answers.get(criterion.code)
        met = _met(criterion, answer)
        checklist.append(CriterionOutcome(criterion, answer, met))
        if met is None:
            missing.append(criterion.text)
        elif not met:
            prefix = "Not met" if criterion.kind == INCLUSION else "Excluded"
            unmet.append(f"{prefix}: {criterion.text}")
    if unmet:
        eligible = False
    elif missing:
        eligible = None
    else:
        eligible = True
    return EligibilityResult(
        eligible=eligible,
        unmet=unmet,
        missing=missing,
        checklist=checklist,
        age_reason=age_reason,
    )


def participant_eligibility(
    participant: Participant,
    *,
    criteria: Sequence[EligibilityCriterion] | None = None,
) -> EligibilityResult:
    """``eligibility_evaluate`` over ``participant``'s saved answers.

    ``criteria`` is the active checklist (read when not given); answers
    prefetched on ``participant.eligibility_answers`` are used, so a page that
    prefetched them runs no query here.
    """
    if criteria is None:
        criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    saved = {a.criterion_id: a.answer for a in participant.eligibility_answers.all()}
    return eligibility_evaluate(
        criteria=criteria,
        answers={c.code: saved.get(c.pk) for c in criteria},
        age=participant.age_at_screening,
    )
