"""Automatic data checks: queries raised (and closed) without a person.

``queries_autocheck`` looks at every saved form set-based, in a fixed number of
SQL queries however many participants there are, and reconciles what it finds
with the automatic queries already in the database (``check_code`` set):

* a problem with no unresolved query for its form and check → a new *open*
  query (the database allows one unresolved query per form and check);
* a problem whose query is open or answered → left alone (no duplicate);
* an unresolved automatic query whose problem is gone (the site corrected the
  value, entered the visit, …) → *closed* by the system with a message
  "Resolved: …". The thread shows why it closed;
* a problem whose automatic query the data manager closed by hand → not raised
  again: the data manager has accepted the value as genuine.

Only complete or signed forms are checked: drafts are still being entered.

The checks (PROTOCOL §7, data management):

* **range outliers** — values the form accepts as possible but that are unusual
  enough to confirm against the source (``RANGE_CHECKS``);
* **visit after its window** — a follow-up done after the visit window closed;
* **missing follow-up** — a visit overdue by the schedule of PROTOCOL §6
  (inputs read by ``crf.schedule.inputs``, as every page reads them: a complete
  follow-up with a visit date or a missed reason counts; a complete Death or
  Withdrawal form ends the schedule, a draft one does not) with no follow-up
  form: a query on that visit's follow-up form (field "", the whole form),
  anchored on the visit (``DataQuery.visit``, no ``form_id``) so that it is
  there before the form is entered and stays the same query while a draft
  is entered; completing the visit (or recording it missed) closes it;
* **fracture status** — a baseline whose fracture status disagrees with the
  participant's, the one source of truth that stratification uses
  (``crf.forms.rules.fracture_status_disagrees``): a query on the baseline's
  fracture status. ``form_save`` also runs this check alone
  (``fracture_status_autocheck``) as soon as a baseline is saved, so the
  query exists with the form, not only after the worker's run;
* **dead without a Death form** — a follow-up recording vital status "dead"
  while the participant has no complete Death form (PROTOCOL §7, §10; "death
  recorded" is ``crf.schedule.inputs.deaths_recorded``: a draft Death form
  does not count): a query on the follow-up's vital status. ``form_save`` runs
  it alone (``vital_status_autocheck``) when a follow-up or Death form is
  saved: raised with the follow-up, closed with the complete Death form or
  the corrected vital status.

This is a system job, not a user's request: it is scoped by
``participant_ids`` (None: every participant), not by ``participants_for``.
"""

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from crf.forms.rules import fracture_status_query_text
from crf.forms.selectors import fracture_status_disagreements
from crf.models import (
    COMPLETE_STATUSES,
    UNRESOLVED_QUERY_STATUSES,
    Baseline,
    FollowUp,
    Operative,
)
from crf.queries.reconcile import Problem, automatic_checks_lock, reconcile
from crf.schedule.inputs import ScheduleInputs, deaths_recorded, schedule_inputs_for
from crf.schedule.visits import OVERDUE, visit_definitions, visit_labels
from perform.selectors import participants_for_system

DONE_STATUSES = COMPLETE_STATUSES
UNRESOLVED = UNRESOLVED_QUERY_STATUSES


@dataclass(frozen=True)
class RangeCheck:
    """A plausible-but-unusual range: outside [low, high] asks the site to
    confirm the value against the source document."""

    code: str
    model: type
    field: str
    low: int | None
    high: int | None
    unit: str


RANGE_CHECKS = (
    # Severe anaemia or polycythaemia in a cancer patient before surgery: possible
    # (marrow infiltration, transfusion), but often a unit or typing error.
    RangeCheck("range_haemoglobin", Baseline, "haemoglobin_g_l", 70, 180, "g/L"),
    # Blood loss over 3 L in a proximal femur operation: massive haemorrhage,
    # rare even for resection with endoprosthesis (hypervascular metastases).
    RangeCheck("range_blood_loss", Operative, "blood_loss_ml", None, 3000, "mL"),
    # Operations over 8 hours: unusual for either procedure.
    RangeCheck("range_duration", Operative, "duration_min", None, 480, "min"),
)
WINDOW_CHECK = "visit_after_window"
MISSING_PREFIX = "missing_follow_up_"
FRACTURE_CHECK = "fracture_status_disagrees"
DEAD_CHECK = "dead_without_death_form"


def _fmt(day: datetime.date) -> str:
    return day.strftime("%d %b %Y")


def _scoped(qs, participant_ids):
    return (
        qs if participant_ids is None else qs.filter(participant_id__in=participant_ids)
    )


def range_problems(participant_ids=None) -> list[Problem]:
    """One query per range rule."""
    problems = []
    for check in RANGE_CHECKS:
        content_type = ContentType.objects.get_for_model(check.model)
        outside = Q()
        if check.low is not None:
            outside |= Q(**{f"{check.field}__lt": check.low})
        if check.high is not None:
            outside |= Q(**{f"{check.field}__gt": check.high})
        rows = _scoped(
            check.model.objects.filter(outside, status__in=DONE_STATUSES),
            participant_ids,
        ).values_list("pk", "participant_id", check.field)
        label = str(check.model._meta.get_field(check.field).verbose_name)
        if check.low is not None and check.high is not None:
            expected = f"{check.low}–{check.high} {check.unit}"
        elif check.high is not None:
            expected = f"up to {check.high} {check.unit}"
        else:
            expected = f"at least {check.low} {check.unit}"
        for pk, participant_id, value in rows:
            problems.append(
                Problem(
                    content_type.pk,
                    pk,
                    check.code,
                    participant_id,
                    check.field,
                    f"{label} is {value} {check.unit}, outside the usual range "
                    f"({expected}). Please confirm it against the source document.",
                )
            )
    return problems


def _schedule_inputs(participant_ids, now=None) -> dict[int, ScheduleInputs]:
    """The schedule's inputs (``crf.schedule.inputs``) of the operated
    participants: six queries, however many participants."""
    scope = participants_for_system()
    if participant_ids is not None:
        scope = scope.filter(pk__in=participant_ids)
    return {
        pid: inputs
        for pid, inputs in schedule_inputs_for(scope, now=now).items()
        if inputs.surgery_date is not None
    }


def window_problems(participant_ids=None, *, inputs=None) -> list[Problem]:
    """Complete follow-ups whose visit date is after the visit window closed."""
    inputs = _schedule_inputs(participant_ids) if inputs is None else inputs
    visits = {v.code: v for v in visit_definitions()}
    content_type = ContentType.objects.get_for_model(FollowUp)
    rows = _scoped(
        FollowUp.objects.filter(status__in=DONE_STATUSES, visit_date__isnull=False),
        participant_ids,
    ).values_list("pk", "participant_id", "visit", "visit_date")
    problems = []
    for pk, participant_id, code, visit_date in rows:
        if participant_id not in inputs or code not in visits:
            continue
        surgery_date = inputs[participant_id].surgery_date
        window_end = surgery_date + datetime.timedelta(days=visits[code].window_end_day)
        if visit_date > window_end:
            problems.append(
                Problem(
                    content_type.pk,
                    pk,
                    WINDOW_CHECK,
                    participant_id,
                    "visit_date",
                    f"Visit on {_fmt(visit_date)} is after the window closed on "
                    f"{_fmt(window_end)}.",
                    visit=code,
                )
            )
    return problems


def missing_follow_up_problems(
    participant_ids=None, *, inputs=None, now: datetime.datetime | None = None
) -> list[Problem]:
    """Overdue visits with no follow-up, by the one schedule function over the
    one reading of its inputs (a draft Death or Withdrawal form does not end
    the schedule); a query on that visit's follow-up form, anchored on the
    visit (no form id: the form may not be entered yet)."""
    inputs = _schedule_inputs(participant_ids, now) if inputs is None else inputs
    content_type = ContentType.objects.get_for_model(FollowUp)
    visits = visit_definitions()
    problems = []
    for participant_id, participant in inputs.items():
        for state in participant.schedule(visits=visits):
            if state.state != OVERDUE:
                continue
            problems.append(
                Problem(
                    content_type.pk,
                    None,
                    MISSING_PREFIX + state.code,
                    participant_id,
                    "",
                    f"The {state.visit.label} follow-up visit is overdue: its window "
                    f"closed on {_fmt(state.window_end)} and no follow-up form has "
                    "been completed. Enter the visit, or record it as missed with "
                    "the reason.",
                    visit=state.code,
                )
            )
    return problems


def fracture_status_problems(participant_ids=None) -> list[Problem]:
    """Complete baselines whose fracture status disagrees with the
    participant's: a query on the baseline's fracture status. One query."""
    content_type = ContentType.objects.get_for_model(Baseline)
    return [
        Problem(
            content_type.pk,
            d.baseline_id,
            FRACTURE_CHECK,
            d.participant_id,
            "fracture_status",
            fracture_status_query_text(screened=d.screened, baseline=d.baseline),
        )
        for d in fracture_status_disagreements(participant_ids, complete_only=True)
    ]


def _visit_adjective(label: str) -> str:
    """ "6 months" → "6-month" (for "the 6-month visit")."""
    number, _, unit = label.partition(" ")
    return f"{number}-{unit.removesuffix('s')}" if number.isdigit() else label


def dead_without_death_problems(participant_ids=None) -> list[Problem]:
    """Complete (or signed) follow-ups recording vital status "dead" of a
    participant with no recorded death (``deaths_recorded``: a complete or
    signed Death form; a draft is not yet data): a query on the follow-up's
    vital status. One query."""
    content_type = ContentType.objects.get_for_model(FollowUp)
    death = deaths_recorded().filter(participant_id=OuterRef("participant_id"))
    rows = _scoped(
        FollowUp.objects.filter(
            status__in=DONE_STATUSES, vital_status=FollowUp.VitalStatus.DEAD
        ).exclude(Exists(death)),
        participant_ids,
    ).values_list("pk", "participant_id", "visit", "visit_date")
    labels = visit_labels()
    problems = []
    for pk, participant_id, visit, visit_date in rows:
        when = f" ({_fmt(visit_date)})" if visit_date else ""
        visit_name = _visit_adjective(labels.get(visit, visit))
        problems.append(
            Problem(
                content_type.pk,
                pk,
                DEAD_CHECK,
                participant_id,
                "vital_status",
                f"Vital status is 'dead' at the {visit_name} visit{when} but no "
                "Death form is complete: enter the Death form, or correct the "
                "vital status.",
                visit=visit,
            )
        )
    return problems


def _automatic_codes_q() -> Q:
    codes = [c.code for c in RANGE_CHECKS] + [WINDOW_CHECK, FRACTURE_CHECK, DEAD_CHECK]
    return Q(check_code__in=codes) | Q(check_code__startswith=MISSING_PREFIX)


@transaction.atomic
def queries_autocheck(
    participant_ids=None, *, now: datetime.datetime | None = None
) -> dict[str, int]:
    """Run every automatic check and reconcile the automatic queries.

    Returns {"raised": n, "closed": n}. Idempotent: a second run with nothing
    changed raises and closes nothing. A fixed number of SQL queries.
    """
    if participant_ids is not None:
        participant_ids = list(participant_ids)
    automatic_checks_lock()
    inputs = _schedule_inputs(participant_ids, now)
    problems = (
        range_problems(participant_ids)
        + window_problems(participant_ids, inputs=inputs)
        + missing_follow_up_problems(participant_ids, inputs=inputs)
        + fracture_status_problems(participant_ids)
        + dead_without_death_problems(participant_ids)
    )
    return reconcile(problems, _automatic_codes_q(), participant_ids)


@transaction.atomic
def fracture_status_autocheck(participant_ids) -> dict[str, int]:
    """The fracture-status check alone, reconciled as ``queries_autocheck``
    does (under the same lock, so the two never raise a query twice): run by
    ``form_save`` when a baseline is saved. Returns {"raised": n, "closed": n}.
    """
    participant_ids = list(participant_ids)
    automatic_checks_lock()
    return reconcile(
        fracture_status_problems(participant_ids),
        Q(check_code=FRACTURE_CHECK),
        participant_ids,
    )


@transaction.atomic
def vital_status_autocheck(participant_ids) -> dict[str, int]:
    """The dead-without-a-Death-form check alone, reconciled as
    ``queries_autocheck`` does (same lock): run by ``form_save`` when a
    follow-up or Death form is saved. Returns {"raised": n, "closed": n}."""
    participant_ids = list(participant_ids)
    automatic_checks_lock()
    return reconcile(
        dead_without_death_problems(participant_ids),
        Q(check_code=DEAD_CHECK),
        participant_ids,
    )
