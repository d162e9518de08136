"""Staff and the questionnaire answers on a visit's form (PROTOCOL §13).

* Answers the participant (or proxy) submitted by link or on the clinic tablet
  are theirs: staff cannot change them on the form. A correction (a proxy's
  slip the participant reports, say) goes through a data query: while a query
  on that field is unresolved, the field may be changed with a reason, which
  the audit trail keeps with the old and new values; the response is
  corrected with it. ``prom_change_errors`` is the rule; ``form_save`` calls it.
* Answers staff type into the form themselves are a transcription of paper:
  ``paper_response_sync`` records them as the visit's response with mode
  "paper" (entered by that staff member), so every response has a mode and the
  link, the reminders and the completion figures know the visit is answered.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from crf.epro.items import PROM_FIELDS
from crf.models import (
    UNRESOLVED_QUERY_STATUSES,
    Baseline,
    ContactPreference,
    CrfForm,
    DataQuery,
    FollowUp,
    PromResponse,
    ResponseMode,
)

ELECTRONIC_MODES = (ResponseMode.LINK, ResponseMode.TABLET)
ANSWERED_BY_PARTICIPANT = (
    "Answered by the participant: raise a data query on this item to correct it."
)


def _visit_of(form: CrfForm) -> str | None:
    from django.conf import settings

    if isinstance(form, FollowUp):
        return form.visit
    if isinstance(form, Baseline):
        return settings.EPRO["BASELINE_VISIT"]
    return None


def _item(form: CrfForm, name: str):
    return (getattr(form, name), (form.missing_codes or {}).get(name))


def _changed(current: CrfForm | None, form: CrfForm) -> list[str]:
    if _visit_of(form) is None:
        return []  # a form without questionnaires (operative, discharge ...)
    if current is None:
        return [n for n in PROM_FIELDS if _item(form, n) != (None, None)]
    return [n for n in PROM_FIELDS if _item(current, n) != _item(form, n)]


def electronic_response(form: CrfForm) -> PromResponse | None:
    """The submitted link or tablet response whose answers ``form`` holds."""
    visit = _visit_of(form)
    if visit is None:
        return None
    return PromResponse.objects.filter(
        participant_id=form.participant_id,
        visit=visit,
        status=PromResponse.Status.SUBMITTED,
        mode__in=ELECTRONIC_MODES,
    ).first()


def queried_fields(form: CrfForm, names) -> set[str]:
    """Of ``names``, the fields of ``form`` with an unresolved data query."""
    anchor = Q(form_id=form.pk) if form.pk else Q(pk__in=[])
    if isinstance(form, FollowUp):
        anchor |= Q(form_id__isnull=True, visit=form.visit)
    return set(
        DataQuery.objects.filter(
            anchor,
            participant_id=form.participant_id,
            form_type=ContentType.objects.get_for_model(type(form)),
            field_name__in=list(names),
            status__in=UNRESOLVED_QUERY_STATUSES,
        ).values_list("field_name", flat=True)
    )


def prom_change_errors(current: CrfForm | None, form: CrfForm) -> dict[str, list[str]]:
    """Field → message for each participant-answered item staff changed
    without an unresolved data query on it."""
    changed = _changed(current, form)
    if not changed or electronic_response(form) is None:
        return {}
    allowed = queried_fields(form, changed)
    return {n: [ANSWERED_BY_PARTICIPANT] for n in changed if n not in allowed}


def prom_after_save(current: CrfForm | None, form: CrfForm, *, actor) -> None:
    """After staff saved ``form``: correct the electronic response with the
    changed items (the query allowed them), or record the paper response."""
    changed = _changed(current, form)
    if not changed:
        return
    visit = _visit_of(form)
    answers = {n: getattr(form, n) for n in PROM_FIELDS if getattr(form, n) is not None}
    codes = {n: c for n, c in (form.missing_codes or {}).items() if n in PROM_FIELDS}
    response = (
        PromResponse.objects.select_for_update()
        .filter(participant_id=form.participant_id, visit=visit)
        .first()
    )
    now = timezone.now()
    if (
        response is not None
        and response.is_submitted
        and response.mode in ELECTRONIC_MODES
    ):
        response.answers, response.missing_codes = answers, codes
        response.last_saved_at = now
        response.save(update_fields=["answers", "missing_codes", "last_saved_at"])
        return
    if not answers and not codes and response is None:
        return
    language = (
        ContactPreference.objects.filter(participant_id=form.participant_id)
        .values_list("language", flat=True)
        .first()
        or "en"
    )
    if response is None:
        response = PromResponse(
            participant_id=form.participant_id, visit=visit, started_at=now
        )
        response.language = language
    response.mode = ResponseMode.PAPER
    response.entered_by = actor
    response.status = PromResponse.Status.SUBMITTED
    response.submitted_at = response.submitted_at or now
    response.last_saved_at = now
    response.answers, response.missing_codes = answers, codes
    response.save()
