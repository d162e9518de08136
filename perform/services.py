"""Writes to the trial core: screening, eligibility, consent, status changes.

Each service is one transaction that also records its audit context (acting
user and, where required, the reason), so the pghistory event rows written by
the database triggers carry who and why. Services check permission and site
scope themselves: the web UI and the API call the same functions.
"""

import datetime
from collections.abc import Mapping

import pghistory
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from perform.clinical_dates import clinical_date_error, site_today
from perform.eligibility import EligibilityResult, eligibility_evaluate
from perform.exceptions import InvalidTransition, TrialError
from perform.models import (
    ConsentRecord,
    EligibilityAnswer,
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    ParticipantStatusChange,
    Site,
    User,
)
from perform.screening import screening_input_raise
from perform.selectors import criteria_active, participants_for

S = ParticipantStatus

# PROTOCOL §3. Screening answers can be corrected (eligible <-> ineligible)
# until consent; randomization and end-of-follow-up states are set by later
# services (randomization, CRF) through ``participant_status_change``.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    "": {S.SCREENED},
    S.SCREENED: {S.ELIGIBLE, S.INELIGIBLE},
    S.ELIGIBLE: {S.CONSENTED, S.DECLINED, S.INELIGIBLE, S.SCREENED},
    S.INELIGIBLE: {S.ELIGIBLE, S.SCREENED},
    S.DECLINED: {S.CONSENTED},
    S.CONSENTED: {S.RANDOMIZED, S.WITHDRAWN},
    S.RANDOMIZED: {S.WITHDRAWN, S.LOST_TO_FOLLOW_UP, S.DIED, S.COMPLETED},
    S.LOST_TO_FOLLOW_UP: {S.RANDOMIZED, S.DIED, S.WITHDRAWN},
    S.WITHDRAWN: set(),
    S.DIED: set(),
    S.COMPLETED: set(),
}

# Screening may be corrected until randomization. Before consent the status
# follows the checklist; after consent it stays *consented* and randomization
# re-checks every criterion and the stratification data (a consented patient
# whose fracture status was missing can have it added here).
SCREENING_EDITABLE = {S.SCREENED, S.ELIGIBLE, S.INELIGIBLE, S.CONSENTED}
_STATUS_FOLLOWS_CHECKLIST = {S.SCREENED, S.ELIGIBLE, S.INELIGIBLE}


def audit_context(*, actor: User | None, reason: str = ""):
    """Attach actor and reason to every audit event written inside the block."""
    metadata = {"reason": reason} if reason else {}
    if actor is not None:
        metadata.update(user=actor.pk, username=actor.get_username())
    return pghistory.context(**metadata)


def participant_status_change(
    *,
    participant: Participant,
    to_status: str,
    actor: User | None,
    reason: str = "",
    at: datetime.datetime | None = None,
) -> ParticipantStatusChange:
    """Move a participant to ``to_status`` if PROTOCOL §3 allows it.

    Call inside a transaction holding ``participant``'s row lock.
    """
    from_status = participant.status if participant.pk else ""
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, set()):
        raise InvalidTransition(
            f"{participant.study_id or 'This participant'} is "
            f"{S(from_status).label.lower() if from_status else 'new'} and cannot "
            f"become {S(to_status).label.lower()}."
        )
    at = at or timezone.now()
    participant.status = to_status
    participant.status_changed_at = at
    participant.save(update_fields=["status", "status_changed_at"])
    return ParticipantStatusChange.objects.create(
        participant=participant,
        from_status=from_status,
        to_status=to_status,
        changed_at=at,
        changed_by=actor,
        reason=reason,
    )


def _check_clinical_date(
    value: datetime.date, *, field: str, site: Site, not_before=None
) -> None:
    """``value`` may be a clinical date at ``site`` (on its calendar)."""
    if problem := clinical_date_error(value, today=site_today(site.time_zone)):
        raise TrialError(problem, field=field)
    if not_before and value < not_before:
        raise TrialError(
            f"The date cannot be before the screening date ({not_before:%d %b %Y}).",
            field=field,
        )


def _answers_save(
    *,
    participant: Participant,
    criteria: list[EligibilityCriterion],
    answers: Mapping[str, bool | None],
) -> EligibilityResult:
    """Save one answer row per active criterion (checked by ``perform.screening``
    first: no unknown codes) and evaluate the checklist."""
    existing = {a.criterion_id: a for a in participant.eligibility_answers.all()}
    for criterion in criteria:
        value = answers.get(criterion.code)
        answer = existing.get(criterion.pk)
        if answer is None:
            EligibilityAnswer.objects.create(
                participant=participant, criterion=criterion, answer=value
            )
        elif answer.answer != value:
            answer.answer = value
            answer.save(update_fields=["answer"])
    return eligibility_evaluate(
        criteria=criteria, answers=dict(answers), age=participant.age_at_screening
    )


def _status_from_eligibility(result: EligibilityResult) -> str:
    if result.eligible is True:
        return S.ELIGIBLE
    if result.eligible is False:
        return S.INELIGIBLE
    return S.SCREENED


@transaction.atomic
def participant_screen(
    *,
    actor: User,
    site: Site,
    screening_date: datetime.date,
    age_at_screening: int,
    sex: str,
    answers: Mapping[str, bool | None],
    year_of_birth: int | None = None,
    fracture_status: str = "",
    screening_notes: str = "",
) -> Participant:
    """Screen a patient: issue the next study ID at ``site`` and record the checklist.

    The input meets the rules of ``perform.screening`` (the web form and the API
    check them first, showing every error; here the first one is raised). The
    site row is locked for the rest of the transaction, so concurrent
    screenings at one site get consecutive numbers, and a screening that fails
    rolls back its number with it (no gaps).
    """
    criteria = criteria_active()
    screening_input_raise(
        user=actor,
        criteria=criteria,
        values={
            "site": site.code,
            "screening_date": screening_date,
            "age_at_screening": age_at_screening,
            "year_of_birth": year_of_birth,
            "answers": answers,
        },
    )
    with audit_context(actor=actor):
        locked_site = Site.objects.select_for_update().get(pk=site.pk)
        locked_site.last_participant_number += 1
        locked_site.save(update_fields=["last_participant_number"])
        sequence = locked_site.last_participant_number
        now = timezone.now()
        participant = Participant.objects.create(
            site=locked_site,
            sequence=sequence,
            study_id=settings.TRIAL["STUDY_ID_FORMAT"].format(
                site=locked_site.code, sequence=sequence
            ),
            screening_date=screening_date,
            age_at_screening=age_at_screening,
            year_of_birth=year_of_birth,
            sex=sex,
            fracture_status=fracture_status,
            screening_notes=screening_notes,
            status=S.SCREENED,
            status_changed_at=now,
            created_by=actor,
        )
        ParticipantStatusChange.objects.create(
            participant=participant,
            from_status="",
            to_status=S.SCREENED,
            changed_at=now,
            changed_by=actor,
        )
        result = _answers_save(
            participant=participant, criteria=criteria, answers=answers
        )
        new_status = _status_from_eligibility(result)
        if new_status != S.SCREENED:
            participant_status_change(
                participant=participant,
                to_status=new_status,
                actor=actor,
                reason="; ".join(result.reasons),
                at=now,
            )
    return participant


def _lock_in_scope(*, actor: User, participant: Participant) -> Participant:
    """Re-read ``participant`` under a row lock, through the site-scoped door."""
    if not actor.has_perm("perform.screen_participant"):
        raise PermissionDenied("You may not change screening or consent records.")
    return (
        participants_for(actor).select_for_update(of=("self",)).get(pk=participant.pk)
    )


@transaction.atomic
def participant_screening_update(
    *,
    actor: User,
    participant: Participant,
    reason: str,
    screening_date: datetime.date,
    age_at_screening: int,
    sex: str,
    answers: Mapping[str, bool | None],
    year_of_birth: int | None = None,
    fracture_status: str = "",
    screening_notes: str = "",
) -> Participant:
    """Correct a screening record before consent; a reason is always required.

    The input meets the rules of ``perform.screening``, as at screening.
    """
    if not reason.strip():
        raise TrialError(
            "Give a reason for changing the screening record.", field="reason"
        )
    criteria = criteria_active()
    screening_input_raise(
        user=actor,
        criteria=criteria,
        values={
            "screening_date": screening_date,
            "age_at_screening": age_at_screening,
            "year_of_birth": year_of_birth,
            "answers": answers,
        },
        participant_site=participant.site,
    )
    with audit_context(actor=actor, reason=reason.strip()):
        participant = _lock_in_scope(actor=actor, participant=participant)
        if participant.status not in SCREENING_EDITABLE:
            raise InvalidTransition(
                f"{participant.study_id} is "
                f"{participant.get_status_display().lower()}; its screening record "
                "can no longer be changed here."
            )
        participant.screening_date = screening_date
        participant.age_at_screening = age_at_screening
        participant.year_of_birth = year_of_birth
        participant.sex = sex
        participant.fracture_status = fracture_status
        participant.screening_notes = screening_notes
        participant.save()
        result = _answers_save(
            participant=participant, criteria=criteria, answers=answers
        )
        new_status = _status_from_eligibility(result)
        if (
            participant.status in _STATUS_FOLLOWS_CHECKLIST
            and new_status != participant.status
        ):
            participant_status_change(
                participant=participant,
                to_status=new_status,
                actor=actor,
                reason=reason.strip(),
            )
    return participant


@transaction.atomic
def participant_consent_record(
    *,
    actor: User,
    participant: Participant,
    decision_date: datetime.date,
    form_version: str,
    obtained_by: str,
) -> ConsentRecord:
    """Record consent given; the participant becomes *consented*."""
    if not form_version.strip():
        raise TrialError("Give the consent form version.", field="form_version")
    with audit_context(actor=actor):
        participant = _lock_in_scope(actor=actor, participant=participant)
        _check_clinical_date(
            decision_date,
            field="decision_date",
            site=participant.site,
            not_before=participant.screening_date,
        )
        if participant.status not in {S.ELIGIBLE, S.DECLINED}:
            raise InvalidTransition(
                "Consent can only be recorded for an eligible participant; "
                f"{participant.study_id} is "
                f"{participant.get_status_display().lower()}.",
            )
        record = ConsentRecord.objects.create(
            participant=participant,
            decision=ConsentRecord.Decision.GIVEN,
            decision_date=decision_date,
            form_version=form_version.strip(),
            obtained_by=obtained_by.strip(),
            recorded_by=actor,
        )
        participant_status_change(
            participant=participant,
            to_status=S.CONSENTED,
            actor=actor,
            reason=(
                f"Consent form {record.form_version} signed {decision_date:%Y-%m-%d}"
            ),
        )
    return record


@transaction.atomic
def participant_decline_record(
    *,
    actor: User,
    participant: Participant,
    decision_date: datetime.date,
    obtained_by: str,
    reason: str = "",
) -> ConsentRecord:
    """Record that an eligible patient declined to take part."""
    with audit_context(actor=actor):
        participant = _lock_in_scope(actor=actor, participant=participant)
        _check_clinical_date(
            decision_date,
            field="decision_date",
            site=participant.site,
            not_before=participant.screening_date,
        )
        if participant.status != S.ELIGIBLE:
            raise InvalidTransition(
                f"Only an eligible participant can decline; {participant.study_id} is "
                f"{participant.get_status_display().lower()}."
            )
        record = ConsentRecord.objects.create(
            participant=participant,
            decision=ConsentRecord.Decision.DECLINED,
            decision_date=decision_date,
            obtained_by=obtained_by.strip(),
            declined_reason=reason.strip(),
            recorded_by=actor,
        )
        participant_status_change(
            participant=participant,
            to_status=S.DECLINED,
            actor=actor,
            reason=reason.strip(),
        )
    return record


def user_notifications_set(*, actor: User, receives_visit_reminders: bool) -> User:
    """Opt ``actor`` in to or out of the visit reminder digests (audited)."""
    with transaction.atomic(), audit_context(actor=actor):
        actor.receives_visit_reminders = receives_visit_reminders
        actor.save(update_fields=["receives_visit_reminders"])
    return actor
