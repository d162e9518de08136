"""Reads of CRF data, always through the site-scoped participant selector."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Q

from crf.forms.rules import (
    ClinicalContext,
    fracture_status_disagrees,
    fracture_status_warning,
)
from crf.models import (
    COMPLETE_STATUSES,
    UNRESOLVED_QUERY_STATUSES,
    Baseline,
    CrfForm,
    DataQuery,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Reoperation,
)
from crf.schedule.inputs import participant_schedule_inputs
from crf.schedule.visits import VisitState
from perform.models import Participant
from randomization.selectors import active_list


def participant_clinical_context(
    participant: Participant, *, now: datetime.datetime | None = None
) -> ClinicalContext:
    """Dates other forms have recorded, and the visit windows, for the rules:
    all from the schedule's inputs (``crf.schedule.inputs``), so the rules
    see the death the schedule sees (a complete Death form, not a draft)."""
    inputs = participant_schedule_inputs(participant, now=now)
    return ClinicalContext(
        screening_date=participant.screening_date,
        today=inputs.today,
        randomization_date=inputs.randomization_date,
        surgery_date=inputs.surgery_date,
        death_date=inputs.death_date,
        visits={v.code: v for v in inputs.schedule()},
        post_surgery_events=post_surgery_event_dates(participant),
    )


# Events that cannot be before surgery (PROTOCOL §7), each with its date field.
_POST_SURGERY_EVENTS = (
    ("discharge", Discharge, "discharge_date"),
    ("reoperation", Reoperation, "reoperation_date"),
    ("local recurrence or progression", LocalRecurrence, "recurrence_date"),
    ("follow-up visit", FollowUp, "visit_date"),
)


def post_surgery_event_dates(participant: Participant) -> dict[str, datetime.date]:
    """Event label → the earliest date stored for ``participant`` (forms of any
    status: a draft's date is what the site wrote down), for the rule that the
    surgery date may not move after them. One query per kind of event."""
    dates = {}
    for label, model, date_field in _POST_SURGERY_EVENTS:
        first = model.objects.filter(participant=participant).aggregate(
            first=Min(date_field)
        )["first"]
        if first is not None:
            dates[label] = first
    return dates


def participant_schedule(
    participant: Participant, *, now: datetime.datetime | None = None
) -> list[VisitState]:
    """The participant's visits (PROTOCOL §6); empty until surgery is recorded.

    Read by ``crf.schedule.inputs``: a follow-up counts as done when complete
    (or signed) with a visit date, missed when complete with a missed reason;
    a complete (or signed) Death or Withdrawal form ends it, a draft does not.
    """
    return participant_schedule_inputs(participant, now=now).schedule()


@dataclass(frozen=True)
class FormsOverview:
    """A participant's CRFs for the hub: ``single`` key → form or None,
    ``repeatable`` key → forms, ``follow_ups`` visit → form, the schedule,
    and the count of open or answered data queries."""

    single: dict[str, CrfForm | None]
    repeatable: dict[str, list[CrfForm]]
    follow_ups: dict[str, CrfForm]
    schedule: list[VisitState]
    open_queries: int


def participant_forms_overview(participant: Participant) -> FormsOverview:
    """Every form of ``participant`` (one query per form type), the visit
    schedule and the open query count: a fixed number of queries."""
    from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, SINGLE

    single, repeatable, follow_ups = {}, {}, {}
    for spec in FORMS.values():
        rows = list(spec.model.objects.filter(participant=participant).order_by("id"))
        if spec.kind == SINGLE:
            single[spec.key] = rows[0] if rows else None
        elif spec.kind == REPEATABLE:
            repeatable[spec.key] = rows
        elif spec.kind == PER_VISIT:
            follow_ups = {row.visit: row for row in rows}
    schedule = participant_schedule(participant)
    counts = DataQuery.objects.filter(participant=participant).aggregate(
        open=Count(
            "id",
            filter=Q(status__in=UNRESOLVED_QUERY_STATUSES),
        )
    )
    return FormsOverview(
        single=single,
        repeatable=repeatable,
        follow_ups=follow_ups,
        schedule=schedule,
        open_queries=counts["open"],
    )


def participant_notifications(participant: Participant, *, limit: int = 50) -> dict:
    """The reminders that listed ``participant``'s visits (latest first, at
    most ``limit``) and the safety alerts of their events, each with the
    e-mail that carried it: two queries."""
    from crf.models import SafetyAlert, VisitReminder

    reminders = list(
        VisitReminder.objects.filter(participant=participant)
        .select_related("email", "recipient")
        .order_by("-for_date", "visit", "recipient_id")[:limit]
    )
    alerts = list(
        SafetyAlert.objects.filter(participant=participant)
        .select_related("email")
        .order_by("-created_at")
    )
    return {"reminders": reminders, "safety_alerts": alerts}


@dataclass(frozen=True)
class FractureStatusDisagreement:
    """A baseline form whose fracture status disagrees with the participant's
    (``crf.forms.rules.fracture_status_disagrees``)."""

    participant_id: int
    baseline_id: int
    screened: str  # Participant.fracture_status: the source of truth
    baseline: str  # what the baseline form says
    complete: bool  # complete or signed (not a draft)


def fracture_status_disagreements(
    participant_ids=None, *, complete_only: bool
) -> list[FractureStatusDisagreement]:
    """The baselines that disagree with their participant's fracture status,
    in one query. ``participant_ids``: None for every participant (a system
    job); callers showing a page pass participants already in the user's
    scope. ``complete_only``: drafts left out (the automatic checks)."""
    rows = Baseline.objects.exclude(fracture_status="")
    if complete_only:
        rows = rows.filter(status__in=COMPLETE_STATUSES)
    if participant_ids is not None:
        rows = rows.filter(participant_id__in=participant_ids)
    return [
        FractureStatusDisagreement(
            participant_id=participant_id,
            baseline_id=pk,
            screened=screened,
            baseline=baseline,
            complete=status in COMPLETE_STATUSES,
        )
        for pk, participant_id, screened, baseline, status in rows.values_list(
            "pk",
            "participant_id",
            "participant__fracture_status",
            "fracture_status",
            "status",
        )
        if fracture_status_disagrees(screened=screened, baseline=baseline)
    ]


def fracture_status_warnings(participant_ids) -> dict[int, list[str]]:
    """Participant id → the warnings of their baseline (draft or complete)
    disagreeing with the fracture status recorded at screening, for the
    participants of ``participant_ids`` (already in the caller's scope); at
    most two queries, however many participants."""
    disagreements = fracture_status_disagreements(participant_ids, complete_only=False)
    if not disagreements:
        return {}
    allocation_list = active_list()
    factors = (
        allocation_list.factors
        if allocation_list
        else settings.RANDOMIZATION["STRATIFICATION_FACTORS"]
    )
    warnings: dict[int, list[str]] = {}
    for d in disagreements:
        warnings.setdefault(d.participant_id, []).append(
            fracture_status_warning(
                screened=d.screened,
                baseline=d.baseline,
                draft=not d.complete,
                stratified="fracture_status" in factors,
            )
        )
    return warnings


def pre_randomization_fracture_warnings(user, participant: Participant) -> list[str]:
    """The randomize confirmation page's warning when the participant's
    baseline (draft or complete) disagrees with the fracture status recorded at
    screening (``randomization.confirmation``, registered in ``crf.apps``).
    ``participant`` comes from the page, through the site-scoped selector."""
    return fracture_status_warnings([participant.pk]).get(participant.pk, [])
