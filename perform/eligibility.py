"""PROTOCOL §4: the one function that decides eligibility from a checklist."""

from dataclasses import dataclass, field

from django.conf import settings

from perform.models import EligibilityCriterion


@dataclass(frozen=True)
class EligibilityResult:
    """Outcome of a checklist: ``eligible`` is True/False, or None while incomplete."""

    eligible: bool | None
    unmet: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Human-readable ineligibility reasons, in checklist order."""
        return list(self.unmet)


def eligibility_evaluate(
    *,
    criteria: list[EligibilityCriterion],
    answers: dict[str, bool | None],
    age: int | None,
) -> EligibilityResult:
    """Evaluate the active checklist against answers keyed by criterion code.

    A participant is ineligible as soon as one answered criterion is not met (or
    the recorded age is below ``TRIAL['MIN_AGE']``), eligible when every active
    criterion is answered and met, and undecided (``None``) otherwise.
    """
    unmet, missing = [], []
    min_age = settings.TRIAL["MIN_AGE"]
    if age is not None and age < min_age:
        unmet.append(f"Age {age} is below the minimum of {min_age} years")
    for criterion in criteria:
        if not criterion.is_active:
            continue
        met = criterion.is_met_by(answers.get(criterion.code))
        if met is None:
            missing.append(criterion.text)
        elif not met:
            prefix = (
                "Not met" if criterion.kind == criterion.Kind.INCLUSION else "Excluded"
            )
            unmet.append(f"{prefix}: {criterion.text}")
    if unmet:
        return EligibilityResult(eligible=False, unmet=unmet, missing=missing)
    if missing:
        return EligibilityResult(eligible=None, unmet=[], missing=missing)
    return EligibilityResult(eligible=True)
