"""A visit's questionnaire response (PROTOCOL §13): opened, saved as the
respondent goes, each page finished, submitted, and copied into the visit's
form.

The survey pages, the clinic tablet and staff transcribing paper all call these
functions; the answers are checked here, once:

* one instrument per page (``PAGES``): TESS (30 items, 1–5, or "does not
  apply"), EQ-5D-5L (five dimensions 1–5 and the VAS 0–100), BPI (eleven
  items 0–10); the ranges come from the model fields' validators;
* every item needs an answer or "I prefer not to answer", which stores the
  missing-data code ``DEC`` (PROTOCOL §7); a TESS item that does not apply
  stores ``NA`` (TESS scores it as not applicable);
* ``response_autosave`` keeps whatever valid answers arrive (a closed tab
  loses nothing) and never fails; ``response_page_finish`` says which items
  still need an answer;
* ``response_submit`` (all pages finished, the window open) marks the
  response submitted and writes its answers, codes and scores (the scoring
  module's, through ``instrument_scores_update``) into the visit's follow-up
  or baseline form, creating a draft form if the site has not entered it. The
  change is audited as made by the participant or proxy, with the mode.
"""

import datetime
from dataclasses import dataclass

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.epro.items import PAGES, PROM_FIELDS
from crf.epro.windows import baseline_visit, survey_window
from crf.forms.licensed_wording import field_range
from crf.models import (
    Baseline,
    CrfForm,
    FollowUp,
    MissingCode,
    PromResponse,
    Respondent,
    ResponseMode,
)
from crf.models.instruments import instrument_scores_update
from perform.models import Participant, User

PREFER_NOT = MissingCode.DEC.value
NOT_APPLICABLE = MissingCode.NA.value

ANSWER_NEEDED = _("Please choose an answer, or “I prefer not to answer”.")
SYSTEM_USERNAME = "perform-epro"


def codes_allowed(field_name: str) -> tuple[str, ...]:
    """The codes a respondent may give instead of a value for this item."""
    if field_name.startswith("tess_"):
        return (NOT_APPLICABLE, PREFER_NOT)
    return (PREFER_NOT,)


def item_bounds(field_name: str) -> tuple[int, int]:
    """(low, high) of an item, from the model field's validators."""
    return field_range(FollowUp._meta.get_field(field_name))


def _parse(field_name: str, raw) -> tuple[str, object] | None:
    """("value", int) or ("code", code) or None (blank or invalid)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if text in codes_allowed(field_name):
        return ("code", text)
    try:
        number = int(text)
    except ValueError:
        return None
    low, high = item_bounds(field_name)
    return ("value", number) if low <= number <= high else None


def _store(response: PromResponse, field_name: str, parsed) -> None:
    response.answers.pop(field_name, None)
    response.missing_codes.pop(field_name, None)
    if parsed is None:
        return
    kind, value = parsed
    (response.answers if kind == "value" else response.missing_codes)[field_name] = (
        value
    )


def _locked(response_id: int) -> PromResponse:
    return PromResponse.objects.select_for_update().get(pk=response_id)


@transaction.atomic
def response_open(
    *,
    participant: Participant,
    visit: str,
    mode: str,
    language: str,
    respondent: str = Respondent.PARTICIPANT,
    invitation=None,
    entered_by: User | None = None,
    now: datetime.datetime | None = None,
) -> PromResponse:
    """The visit's response, started now if there is none yet (one per visit,
    whatever the mode: a response begun by link can be finished on the tablet).
    The caller has checked the window (``survey_window``)."""
    now = now or timezone.now()
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    response = PromResponse.objects.filter(participant=participant, visit=visit).first()
    if response is None:
        return PromResponse.objects.create(
            participant=participant,
            visit=visit,
            mode=mode,
            respondent=respondent,
            language=language,
            invitation=invitation,
            entered_by=entered_by,
            started_at=now,
            last_saved_at=now,
        )
    if response.is_submitted:
        return response
    response.mode, response.language = mode, language
    if respondent:
        response.respondent = respondent
    if invitation is not None:
        response.invitation = invitation
    if entered_by is not None:
        response.entered_by = entered_by
    response.save(
        update_fields=["mode", "language", "respondent", "invitation", "entered_by"]
    )
    return response


@transaction.atomic
def response_autosave(response: PromResponse, page: str, values) -> PromResponse:
    """Keep the valid answers of ``page`` in ``values`` (a mapping of field
    name → posted text); ignore the rest. Never raises for bad input."""
    current = _locked(response.pk)
    if current.is_submitted or page not in PAGES:
        return current
    for name in PAGES[page]:
        if name in values:
            _store(current, name, _parse(name, values.get(name)))
    current.last_saved_at = timezone.now()
    current.save(update_fields=["answers", "missing_codes", "last_saved_at"])
    return current


@transaction.atomic
def response_page_finish(response: PromResponse, page: str, values) -> dict:
    """Save ``page``'s answers and mark it finished if every item has an
    answer or a code; else return field name → message (what was valid is
    kept all the same)."""
    current = _locked(response.pk)
    if current.is_submitted or page not in PAGES:
        return {}
    errors = {}
    for name in PAGES[page]:
        parsed = _parse(name, values.get(name))
        _store(current, name, parsed)
        if parsed is None:
            errors[name] = ANSWER_NEEDED
    done = [p for p in current.pages_done if p != page]
    if not errors:
        done.append(page)
    current.pages_done = [p for p in PAGES if p in done]
    current.last_saved_at = timezone.now()
    current.save(
        update_fields=["answers", "missing_codes", "pages_done", "last_saved_at"]
    )
    return errors


def next_page(response: PromResponse) -> str | None:
    """The first page not finished yet (None: all finished)."""
    return next((p for p in PAGES if p not in response.pages_done), None)


class SurveyClosed(Exception):
    """The questionnaires may not be answered now (``window.message`` says why)."""

    def __init__(self, window):
        super().__init__(window.message)
        self.window = window


@transaction.atomic
def response_submit(
    response: PromResponse, *, mode: str | None = None, now=None
) -> PromResponse:
    """Submit ``response`` (every page finished, inside its window) and copy
    its answers into the visit's form."""
    now = now or timezone.now()
    current = _locked(response.pk)
    if current.is_submitted:
        return current
    window = survey_window(current.participant, current.visit, now=now)
    if not window.is_open:
        raise SurveyClosed(window)
    unfinished = [p for p in PAGES if p not in current.pages_done]
    if unfinished:
        raise ValidationError(
            {page: [ANSWER_NEEDED] for page in unfinished}, code="unfinished"
        )
    current.status = PromResponse.Status.SUBMITTED
    current.submitted_at = now
    current.last_saved_at = now
    if mode:
        current.mode = mode
    current.save()
    _form_write(current)
    return current


def epro_system_user() -> User:
    """The account a form written by a participant's answers is attributed to
    in ``created_by``/``updated_by`` (those columns name a user; a participant
    is not one). It cannot sign in: inactive, no usable password. The audit
    trail names the respondent and the mode instead (``_form_write``)."""
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={
            "is_active": False,
            "first_name": "Participant",
            "last_name": "(ePRO)",
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def response_form_model(visit: str) -> type[CrfForm]:
    return Baseline if visit == baseline_visit() else FollowUp


def _form_write(response: PromResponse) -> CrfForm:
    """Write the submitted answers into the visit's form (its row locked)."""
    model = response_form_model(response.visit)
    lookup = {"participant_id": response.participant_id}
    if model is FollowUp:
        lookup["visit"] = response.visit
    form = model.objects.select_for_update().filter(**lookup).first()
    system = epro_system_user()
    if form is None:
        form = model(**lookup, created_by=system)
    elif form.pk is not None:
        form.version += 1
    for name in PROM_FIELDS:
        setattr(form, name, response.answers.get(name))
    codes = {k: v for k, v in form.missing_codes.items() if k not in PROM_FIELDS}
    form.missing_codes = {**codes, **response.missing_codes}
    instrument_scores_update(form)
    form.updated_by = system
    form.signed_at, form.signed_by = None, None
    who = ResponseMode(response.mode).label
    respondent = Respondent(response.respondent).label
    with pghistory.context(
        username=f"{respondent} ({who.lower()})",
        reason=f"Questionnaires submitted ({who}; answered by {respondent.lower()}).",
    ):
        form.save()
    return form


@dataclass(frozen=True)
class AnswerView:
    """One item of a response as a page shows it."""

    field_name: str
    value: int | None
    code: str


def response_items(response: PromResponse, page: str) -> list[AnswerView]:
    return [
        AnswerView(
            name, response.answers.get(name), response.missing_codes.get(name, "")
        )
        for name in PAGES[page]
    ]
