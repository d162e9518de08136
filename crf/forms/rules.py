"""PROTOCOL §7 rules: which forms a participant may have, and validation
rules that need more than one field or form.

``form_allowed_for`` decides which forms a participant's lifecycle status
allows; the service refuses the others, the web pages and the API do not
offer them. ``form_rule_errors`` returns field → messages and never raises;
its one caller is ``crf.forms.services.form_save``, which refuses a save that
breaks any of them (``ValidationError``), for drafts too: the web pages and
the API show the service's refusal, so both refuse the same input with the
same words, and no caller (the demo seeder included) can write around them.
Field ranges and choices are checked by the model fields.

The cross-form date rules of PROTOCOL §7, as enforced here:

* every clinical date (``DATE_FIELDS``) is not in the future, not before
  screening;
* surgery on or after randomization; a complete Operative form needs the
  participant randomized;
* discharge, reoperation, local recurrence/progression and every follow-up
  visit (so implant failure and local progression reported at a visit) not
  before surgery; a discharge needs the surgery date first;
* symmetrically, the surgery date cannot be moved after a stored discharge,
  reoperation, local recurrence or follow-up visit (any status: a draft's date
  is a fact the site has written down, and the draft could not be saved again
  once its date was before surgery), so editing the Operative form never
  makes a stored event pre-surgery: the site corrects that form first;
* a follow-up visit not before its window opens, not after a recorded death;
* death not before randomization.

Branching logic, missing-data codes and the partial date of diagnosis
(``crf.forms.entry_rules``) are checked here too, so the service owns them.

Dates are facts, so drafts are checked like complete forms; only what a
complete form must *have* (``complete=True``: the randomization behind a
complete Operative form, a follow-up's visit date or missed reason) waits for
completion.
"""

import datetime
from dataclasses import dataclass, field

from crf.forms.entry_rules import entry_rule_errors
from crf.forms.missing_data import field_answered
from crf.forms.registry import (
    FROM_CONSENT,
    FROM_RANDOMIZATION,
    FROM_SCREENING,
    SAE_CRITERIA,
    FormSpec,
)
from crf.forms.scoring import MIRELS_IMPENDING_THRESHOLD
from crf.models import (
    AdverseEvent,
    Baseline,
    CrfForm,
    Death,
    Discharge,
    FollowUp,
    LocalRecurrence,
    Operative,
    ProtocolDeviation,
    Reoperation,
    Withdrawal,
)
from crf.models.events import ClavienDindo
from crf.schedule.visits import VisitState
from perform.clinical_dates import clinical_date_error
from perform.models import Participant
from perform.models import ParticipantStatus as S

# Statuses only reached through randomization (PROTOCOL §3;
# ``perform.services.ALLOWED_TRANSITIONS``): lost to follow-up, died and
# completed follow *randomized*. Withdrawn also follows *consented* in that
# table, but the only way there is a complete Withdrawal form, which this
# rule allows from randomization only, so a withdrawn participant was
# randomized (as the CONSORT counts of ``perform.selectors`` assume).
RANDOMIZED_STATUSES = frozenset(
    {S.RANDOMIZED, S.WITHDRAWN, S.LOST_TO_FOLLOW_UP, S.DIED, S.COMPLETED}
)
_STATUSES_FROM = {
    FROM_SCREENING: frozenset(S),
    FROM_CONSENT: RANDOMIZED_STATUSES | {S.CONSENTED},
    FROM_RANDOMIZATION: RANDOMIZED_STATUSES,
}
_NOT_YET = {
    FROM_CONSENT: "{label} forms can be entered only after consent",
    FROM_RANDOMIZATION: "Clinical forms can be entered only after randomization",
}


def form_allowed_for(spec: FormSpec, participant: Participant) -> bool:
    """Whether ``participant``'s lifecycle status allows the form ``spec``
    (PROTOCOL §7: "Clinical forms (operative onwards) exist only for
    randomized participants"). Decided by the status alone: no transition
    leaves a set of statuses that allows a form, so a check without a row
    lock cannot let through a form a concurrent transition has just closed.

    * Baseline: any status, as before. The baseline's fracture status is
      compared with the one recorded at screening *before* randomization
      (§7's cross-form rule), so it is entered while the participant is
      screened, eligible or consented; an ineligible participant may become
      eligible again on corrected answers.
    * Protocol deviation: from consent (consented, and every status after
      randomization). A consented participant is in the trial and deviations
      of consent, eligibility or randomization happen before randomization
      (a wrong consent version, surgery before randomization); a patient who
      has not consented is not under the protocol.
    * Every other form (operative, discharge, follow-up, adverse event,
      reoperation, local recurrence, death, withdrawal): only once randomized
      (``RANDOMIZED_STATUSES``). Withdrawal included: §3 has participants
      withdraw (or get lost to follow-up) after randomization.

    Screening and consent are not CRFs (``perform`` records them).
    """
    return participant.status in _STATUSES_FROM[spec.entered_from]


def form_not_allowed_message(spec: FormSpec, participant: Participant) -> str:
    """Why ``form_allowed_for`` refuses ``spec`` for ``participant``, in words
    a coordinator understands."""
    not_yet = _NOT_YET[spec.entered_from].format(label=spec.label)
    status = S(participant.status).label.lower()
    return f"{not_yet}: {participant.study_id} is {status}."


@dataclass(frozen=True)
class ClinicalContext:
    """What other forms say about the participant (``crf.forms.selectors``,
    read by ``crf.schedule.inputs``: ``death_date`` is a complete Death form's,
    as for the schedule; a draft one is not yet data)."""

    screening_date: datetime.date
    today: datetime.date  # at the participant's site
    randomization_date: datetime.date | None = None
    surgery_date: datetime.date | None = None
    death_date: datetime.date | None = None
    visits: dict[str, VisitState] = field(default_factory=dict)
    # The earliest stored date (any status) of each kind of event that cannot
    # be before surgery, e.g. "reoperation" → date: the Operative form's
    # surgery date may not move after any of them.
    post_surgery_events: dict[str, datetime.date] = field(default_factory=dict)


DATE_FIELDS = {
    Baseline: ["assessment_date"],
    Operative: ["surgery_date"],
    Discharge: ["discharge_date"],
    FollowUp: ["visit_date"],
    AdverseEvent: ["onset_date", "awareness_date", "resolution_date"],
    Reoperation: ["reoperation_date"],
    LocalRecurrence: ["recurrence_date"],
    Death: ["death_date"],
    Withdrawal: ["withdrawal_date"],
    ProtocolDeviation: ["deviation_date"],
}


def _fmt(day: datetime.date) -> str:
    return day.strftime("%d %b %Y")


# -----------------------------------------------------------------------------
# Fracture status: one source of truth (PROTOCOL §5, §7)
# -----------------------------------------------------------------------------


def fracture_status_disagrees(*, screened: str, baseline: str) -> bool:
    """Whether the baseline form's fracture status disagrees with the
    participant's (PROTOCOL §7's cross-form rule).

    The participant's fracture status (``Participant.fracture_status``, recorded
    at screening and correctable until consent) is the one source of truth: it
    is what stratification uses (PROTOCOL §5), and once the participant is
    randomized it never changes without a documented process (a deviation
    decided by the Methods Centre). The baseline form's fracture status is a
    *confirmation* checked against it, never a second value that something
    reads for the trial.

    They disagree when both are recorded and differ. A status missing on
    screening is not a disagreement: it already keeps the participant from
    being randomized (``randomization.services.randomization_blockers``).

    A disagreement never refuses the form (the site records what the source
    document says). It raises an automatic query on the baseline's fracture
    field (``crf.queries.automatic``, at save and nightly) and a warning on the
    randomize confirmation page (``crf.forms.selectors``).
    """
    return bool(screened and baseline and screened != baseline)


def fracture_status_query_text(*, screened: str, baseline: str) -> str:
    """The automatic query's question to the site."""
    return (
        f"The baseline form says the fracture is {baseline}; screening recorded "
        f"{screened}, which is the value stratification uses. If screening is "
        "right, correct the baseline form. If the baseline is right, correct the "
        "screening record before randomization; after randomization the stratum "
        "cannot change: answer this query and the Methods Centre decides."
    )


def fracture_status_warning(
    *, screened: str, baseline: str, draft: bool, stratified: bool
) -> str:
    """The warning on the randomize confirmation page."""
    form = "the baseline form (draft)" if draft else "the baseline form"
    outcome = (
        f"stratification will use {screened}"
        if stratified
        else f"the participant's record keeps {screened}"
    )
    return (
        f"Screening says {screened}; {form} says {baseline}: {outcome}. "
        "Resolve before randomizing if this is wrong."
    )


def form_rule_errors(
    form: CrfForm, context: ClinicalContext, *, complete: bool
) -> dict[str, list[str]]:
    """Cross-field and cross-form errors of ``form`` (unsaved values)."""
    errors = entry_rule_errors(form, today=context.today)

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    # Every clinical date: within the trial and not in the future
    # (perform.clinical_dates), and not before screening.
    for name in DATE_FIELDS.get(type(form), []):
        value = getattr(form, name)
        if value is None:
            continue
        if problem := clinical_date_error(value, today=context.today):
            add(name, problem)
        elif value < context.screening_date:
            add(
                name,
                "The date cannot be before screening "
                f"({_fmt(context.screening_date)}).",
            )

    if isinstance(form, Baseline):
        if form.primary_cancer == Baseline.PrimaryCancer.OTHER and not (
            field_answered(form, "primary_cancer_other")
        ):
            add("primary_cancer_other", "Name the primary cancer.")
        items = (
            form.mirels_site,
            form.mirels_pain,
            form.mirels_lesion,
            form.mirels_size,
        )
        if (
            form.fracture_status == "impending"
            and None not in items
            and sum(items) < MIRELS_IMPENDING_THRESHOLD
        ):
            add(
                "fracture_status",
                f"An impending fracture needs a Mirels score of "
                f"{MIRELS_IMPENDING_THRESHOLD} or more; the items add up to "
                f"{sum(items)}.",
            )

    if isinstance(form, Operative):
        if form.procedure == Operative.Procedure.OTHER and not (
            field_answered(form, "procedure_other")
        ):
            add("procedure_other", "Describe the procedure performed.")
        if (
            form.surgery_date
            and context.randomization_date
            and form.surgery_date < context.randomization_date
        ):
            add(
                "surgery_date",
                "Surgery cannot be before randomization "
                f"({_fmt(context.randomization_date)}).",
            )
        if complete and context.randomization_date is None:
            add("surgery_date", "The participant has not been randomized yet.")
        for label, day in context.post_surgery_events.items():
            if form.surgery_date and day < form.surgery_date:
                add(
                    "surgery_date",
                    f"Surgery cannot be after the {label} ({_fmt(day)}): "
                    "correct that form first.",
                )

    if isinstance(form, Discharge) and form.discharge_date:
        if context.surgery_date is None:
            add("discharge_date", "Enter the operative form (date of surgery) first.")
        elif form.discharge_date < context.surgery_date:
            add(
                "discharge_date",
                f"Discharge cannot be before surgery ({_fmt(context.surgery_date)}).",
            )

    if isinstance(form, FollowUp):
        visit = context.visits.get(form.visit)
        if form.visit_date and form.missed_reason.strip():
            add(
                "missed_reason",
                "Give either a visit date or a missed reason, not both.",
            )
        if complete and not form.visit_date and not form.missed_reason.strip():
            add(
                "visit_date",
                "Enter the visit date, or the reason the visit was missed.",
            )
        if form.visit_date and visit is None:
            add("visit_date", "The visit schedule starts with the date of surgery.")
        elif (
            form.visit_date
            and context.surgery_date
            and form.visit_date < context.surgery_date
        ):
            reported = form.implant_failure or form.local_progression
            add(
                "visit_date",
                (
                    "A visit reporting implant failure or local progression"
                    if reported
                    else "A follow-up visit"
                )
                + f" cannot be before surgery ({_fmt(context.surgery_date)}).",
            )
        elif form.visit_date and form.visit_date < visit.window_start:
            add(
                "visit_date",
                f"The {visit.visit.label} visit window opens on "
                f"{_fmt(visit.window_start)}.",
            )
        if (
            form.visit_date
            and context.death_date
            and form.visit_date > context.death_date
        ):
            add(
                "visit_date",
                f"The participant died on {_fmt(context.death_date)}.",
            )

    if isinstance(form, AdverseEvent):
        if (
            form.onset_date
            and form.awareness_date
            and (form.awareness_date < form.onset_date)
        ):
            add("awareness_date", "The site cannot learn of an event before its onset.")
        if (
            form.onset_date
            and form.resolution_date
            and (form.resolution_date < form.onset_date)
        ):
            add("resolution_date", "Resolution cannot be before onset.")
        ticked = [name for name in SAE_CRITERIA if getattr(form, name)]
        if form.serious is True and not ticked:
            add("serious", "Tick at least one seriousness criterion.")
        # Criteria ticked on an event not serious: ``branching_errors``.
        if form.clavien_dindo == ClavienDindo.V and form.outcome not in (
            "",
            AdverseEvent.Outcome.FATAL,
        ):
            add("outcome", "Clavien-Dindo grade V means the outcome was fatal.")
        if form.outcome == AdverseEvent.Outcome.FATAL and not form.sae_death:
            add("sae_death", "A fatal event is serious: tick 'Resulted in death'.")

    if isinstance(form, Reoperation):
        if form.reason == Reoperation.Reason.OTHER and not (
            field_answered(form, "reason_other")
        ):
            add("reason_other", "Describe the reason for reoperation.")
        if (
            form.reoperation_date
            and context.surgery_date
            and form.reoperation_date < context.surgery_date
        ):
            add(
                "reoperation_date",
                "A reoperation cannot be before the index surgery "
                f"({_fmt(context.surgery_date)}).",
            )

    if (
        isinstance(form, LocalRecurrence)
        and form.recurrence_date
        and context.surgery_date
        and form.recurrence_date < context.surgery_date
    ):
        add(
            "recurrence_date",
            "Local recurrence or progression cannot be before the index surgery "
            f"({_fmt(context.surgery_date)}).",
        )

    if (
        isinstance(form, Death)
        and form.death_date
        and context.randomization_date
        and form.death_date < context.randomization_date
    ):
        add(
            "death_date",
            "Death cannot be before randomization "
            f"({_fmt(context.randomization_date)}).",
        )

    return errors
