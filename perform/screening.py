"""Screening input (PROTOCOL §7.1): the rules the web form and the API share.

A screening arrives as an HTML form (``perform.forms.ScreeningForm``) or as
JSON (``perform.api.participants.ParticipantScreenInputSerializer``). Each
channel first *reads* its wire format into Python values with its own fields
(a date, a whole number, a choice, a yes/no/unknown answer); a value that
cannot be read is an error on its field, worded by the messages below, which
both channels pass to their fields. Everything else is decided here, by
``screening_input_check``, which both channels call with what they read:

* ``site``: a site at which the user may screen; an unknown site and another
  site's are refused in the same words (their existence is not disclosed);
* ``screening_date``: a clinical date (``perform.clinical_dates``);
* ``age_at_screening``: from ``AGE_MIN`` to ``AGE_MAX``;
* ``year_of_birth`` (optional): from ``YEAR_OF_BIRTH_MIN``, not after the
  screening date, and within a year of the age at screening;
* ``answers`` (criterion code → True/False/None): codes of the active
  checklist only, and the age criterion cannot be answered *met* for an age
  below ``TRIAL["MIN_AGE"]``.

Errors come back keyed by field, those on answers keyed by criterion code.
The web form puts each on its field and re-renders with all of them; the API
answers 400 ``{field: [message], "answers": {code: [message]}}``. The
screening services call the same check again (``screening_input_raise``), so
any other caller (the demo, a script) meets the same rules.
"""

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from perform.clinical_dates import clinical_date_error, site_today
from perform.exceptions import SiteNotAllowed, TrialError
from perform.models import EligibilityCriterion, Site, User
from perform.selectors import screening_sites_for

AGE_MIN, AGE_MAX = 0, 120
YEAR_OF_BIRTH_MIN = 1900
SITE_CODE_LENGTH = 3
# The checklist line that states the minimum age (PROTOCOL §4): it cannot be
# answered "yes" for a recorded age below TRIAL["MIN_AGE"].
AGE_CRITERION = "age_adult"

# Messages for values a channel cannot read: each channel gives them to its
# fields, so the web form and the API say the same.
REQUIRED = "This field is required."
DATE_INVALID = "Enter a valid date (YYYY-MM-DD)."
NUMBER_INVALID = "Enter a whole number."
ANSWER_INVALID = "Answer yes (true), no (false) or not yet known (null)."
UNKNOWN_CRITERION = "Unknown eligibility criterion."


def choice_invalid(values: Iterable[str]) -> str:
    """The message for a value that is not one of ``values`` (no placeholders:
    Django and DRF fill theirs differently)."""
    return f"Choose one of: {', '.join(values)}."


def too_long(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def site_not_allowed(code: str) -> str:
    return f"You cannot screen patients at site {code}."


def _at_least(limit: int) -> str:
    return f"Ensure this value is greater than or equal to {limit}."


def _at_most(limit: int) -> str:
    return f"Ensure this value is less than or equal to {limit}."


@dataclass(frozen=True)
class ScreeningCheck:
    """What ``screening_input_check`` found: the site (when one was given and
    may be used), errors by field, and errors on answers by criterion code."""

    site: Site | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    answer_errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.answer_errors


def screening_input_check(
    *,
    user: User,
    criteria: Sequence[EligibilityCriterion],
    values: Mapping[str, Any],
    participant_site: Site | None = None,
) -> ScreeningCheck:
    """Check the screening ``values`` a form or serializer has read.

    ``values`` holds the fields that could be read; one that could not is left
    out (its own error already stands) and the rules that need it are skipped.
    ``site`` is a site code, given only when screening a new patient (a
    participant's site never changes); ``answers`` maps criterion codes to
    True/False/None. ``criteria`` is the active checklist.
    ``participant_site``: the site of the participant whose record is being
    corrected (its calendar says what "today" is for the screening date).
    """
    errors: dict[str, list[str]] = {}
    answer_errors: dict[str, list[str]] = {}
    site = None
    if "site" in values:
        code = values["site"]
        site = screening_sites_for(user).filter(code=code.upper()).first()
        if site is None:
            errors["site"] = [site_not_allowed(code)]

    # The date is judged on the site's calendar: the chosen site's for a new
    # patient, ``participant_site`` when correcting a participant's record;
    # the server's when the site could not be used (that has its own error).
    calendar = participant_site or site
    today = site_today(calendar.time_zone) if calendar else timezone.localdate()
    screened: datetime.date | None = values.get("screening_date")
    if screened is not None and (problem := clinical_date_error(screened, today=today)):
        errors["screening_date"] = [problem]
        screened = None

    age = values.get("age_at_screening")
    if age is not None and not AGE_MIN <= age <= AGE_MAX:
        errors["age_at_screening"] = [
            _at_least(AGE_MIN) if age < AGE_MIN else _at_most(AGE_MAX)
        ]
        age = None

    year_of_birth = values.get("year_of_birth")
    if year_of_birth is not None:
        if year_of_birth < YEAR_OF_BIRTH_MIN:
            errors["year_of_birth"] = [_at_least(YEAR_OF_BIRTH_MIN)]
        elif screened is not None and year_of_birth > screened.year:
            errors["year_of_birth"] = ["Year of birth is after the screening date."]
        elif screened is not None and age is not None:
            implied = screened.year - year_of_birth
            if abs(implied - age) > 1:
                errors["year_of_birth"] = [
                    f"Year of birth {year_of_birth} gives age {implied - 1}–"
                    f"{implied} at screening, not {age}."
                ]

    answers = values.get("answers")
    if answers is not None:
        known = {c.code for c in criteria}
        for code in sorted(set(answers) - known):
            answer_errors[code] = [UNKNOWN_CRITERION]
        min_age = settings.TRIAL["MIN_AGE"]
        if (
            age is not None
            and age < min_age
            and AGE_CRITERION in known
            and answers.get(AGE_CRITERION) is True
        ):
            answer_errors[AGE_CRITERION] = [
                f"The age entered is {age}: this criterion cannot be met."
            ]
    return ScreeningCheck(site=site, errors=errors, answer_errors=answer_errors)


def screening_input_raise(
    *,
    user: User,
    criteria: Sequence[EligibilityCriterion],
    values: Mapping[str, Any],
    participant_site: Site | None = None,
) -> Site | None:
    """``screening_input_check`` for the services: the first error found is
    raised as a ``TrialError`` on its field (``SiteNotAllowed`` for the site);
    otherwise the site is returned."""
    check = screening_input_check(
        user=user, criteria=criteria, values=values, participant_site=participant_site
    )
    for name, messages in check.errors.items():
        error_class = SiteNotAllowed if name == "site" else TrialError
        raise error_class(messages[0], field=name)
    for code, messages in check.answer_errors.items():
        raise TrialError(f"{code}: {messages[0]}", field="answers")
    return check.site
