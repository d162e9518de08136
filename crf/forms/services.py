"""Writes of case report forms: save (draft or complete), sign, lock, unlock;
sign or lock several forms at once (``forms_sign``, ``forms_lock``: one
transaction, each form signed or locked as one alone is, audited one by one).

The web forms and the API validate input with the same form classes, then call
these services, which own the rules of PROTOCOL §7 on form state:

* a form is saved as *draft* (anything missing allowed) or *complete* (every
  field of ``required_when_complete`` present);
* changing a form that was ever complete needs a reason, recorded in the audit
  trail with the old and new values; any change undoes a signature;
* a form that breaks a rule of ``crf.forms.rules.form_rule_errors`` (the
  cross-form dates of PROTOCOL §7: surgery not before randomization,
  discharge, reoperation, local recurrence and follow-up visits not before
  surgery, the surgery date not moved after them, …) is refused with a
  ``django.core.exceptions.ValidationError`` of field → messages, drafts
  included (dates are facts), before anything is written: this is the one
  place the rules are checked, for the web pages, the API and the demo seeder
  alike (the pages and the API show the refusal, they do not check again);
* a form the participant's lifecycle status does not allow
  (``crf.forms.rules.form_allowed_for``: clinical forms only after randomization)
  is neither created nor changed;
* branching logic (a field that does not apply holds nothing) and
  missing-data codes are rules of ``form_rule_errors`` too (``crf.forms.branching``,
  ``crf.forms.missing_data``); a field holding a code counts as given for a
  complete form;
* the questionnaire answers a participant submitted (link or clinic tablet)
  change only while a data query on the item is unresolved; answers staff
  type in are recorded as a paper response (``crf.epro.corrections``);
* a locked form cannot be changed or signed by anyone; the data manager
  unlocks it first (and that is audited too);
* saves carry the version the user started from; a save based on an older
  version is refused instead of silently overwriting someone else's change;
* a saved baseline whose fracture status disagrees with the participant's (the
  one source of truth, ``crf.forms.rules.fracture_status_disagrees``) gets its
  automatic query in the same transaction; one agreeing again has it closed;
* so does a saved follow-up recording vital status "dead" while no complete
  Death form is recorded; a complete Death form, or the vital status
  corrected, closes it (``crf.queries.automatic.vital_status_autocheck``).
"""

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crf.epro.corrections import (
    prom_after_save,
    prom_change_errors,
    prom_corrections,
)
from crf.exceptions import (
    FormIncomplete,
    FormLocked,
    FormNotAllowed,
    ReasonRequired,
    SignatureRefused,
    StaleForm,
    StaleForms,
)
from crf.forms.missing_data import field_answered
from crf.forms.registry import REPEATABLE, spec_for_model
from crf.forms.rules import (
    form_allowed_for,
    form_not_allowed_message,
    form_rule_errors,
)
from crf.forms.selectors import participant_clinical_context
from crf.models import Baseline, CrfForm, Death, FollowUp, FormStatus, Withdrawal
from crf.models.instruments import instrument_scores_update
from crf.queries.automatic import fracture_status_autocheck, vital_status_autocheck
from crf.safety.alerts import safety_alert_for
from crf.schedule.visits import visit_definitions, visit_labels
from perform.exceptions import TrialError
from perform.models import Participant, ParticipantStatus, User
from perform.selectors import participants_for
from perform.services import audit_context, participant_status_change

CORRECTION_NEEDS_REASON = (
    "You are correcting the participant's own answers: give the reason "
    "(the data query's answer)."
)


def _require(actor: User, perm: str, message: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(message)


def form_missing_fields(form: CrfForm) -> list[str]:
    """Labels of the fields a complete form still lacks (a field holding a
    missing-data code is answered: ``crf.forms.missing_data.field_answered``)."""
    return [
        str(form._meta.get_field(name).verbose_name)
        for name in form.required_when_complete
        if not field_answered(form, name)
    ]


def _scoped_lock(actor: User, form: CrfForm) -> CrfForm:
    model = type(form)
    return (
        model.objects.select_for_update(of=("self",))
        .filter(participant__in=participants_for(actor))
        .get(pk=form.pk)
    )


@transaction.atomic
def form_save(
    *,
    actor: User,
    form: CrfForm,
    complete: bool,
    reason: str = "",
    based_on_version: int | None = None,
) -> CrfForm:
    """Save ``form`` (new or changed, not yet written) as draft or complete."""
    _require(actor, "crf.enter_forms", "You may not enter case report forms.")
    # The status as stored now, not as ``form.participant`` was read.
    participant = participants_for(actor).filter(pk=form.participant_id).first()
    if participant is None:
        raise PermissionDenied("This participant is not at one of your sites.")
    spec = spec_for_model(type(form))
    if not form_allowed_for(spec, participant):
        raise FormNotAllowed(form_not_allowed_message(spec, participant))
    reason = reason.strip()
    now = timezone.now()
    current = None
    if form.pk is not None:
        current = _scoped_lock(actor, form)
        if current.locked:
            raise FormLocked("This form is locked by the Methods Centre.")
        if based_on_version is not None and based_on_version != current.version:
            raise StaleForm()
    # PROTOCOL §7's cross-field and cross-form rules, read under the form's row
    # lock: the one check, for every caller, before anything on ``form`` moves.
    errors = form_rule_errors(
        form, participant_clinical_context(participant), complete=complete
    )
    # PROTOCOL §13: the participant's own answers change only through a query.
    for name, messages in prom_change_errors(current, form).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if not reason and prom_corrections(current, form):
        raise ReasonRequired(CORRECTION_NEEDS_REASON)
    if current is not None:
        if current.status != FormStatus.DRAFT and not reason:
            raise ReasonRequired()
        form.version = current.version + 1
        form.created_at, form.created_by_id = current.created_at, current.created_by_id
        form.locked = False
    else:
        form.created_by = actor
    if complete:
        missing = form_missing_fields(form)
        if missing:
            raise FormIncomplete(missing)
    instrument_scores_update(form)
    form.status = FormStatus.COMPLETE if complete else FormStatus.DRAFT
    form.completed_at = now if complete else None
    # Any change undoes a signature.
    form.signed_at, form.signed_by = None, None
    form.updated_by = actor
    with audit_context(actor=actor, reason=reason):
        form.save()
        prom_after_save(current, form, actor=actor)
        if complete:
            _lifecycle_follow(actor=actor, form=form, reason=reason)
    # A serious adverse event, death or reoperation: the expedited alert
    # commits with the form (PROTOCOL §9).
    safety_alert_for(form)
    if isinstance(form, Baseline):
        # PROTOCOL §7: the fracture-status query is there when the form is
        # saved (the hub counts it), not only after the worker's run.
        fracture_status_autocheck([form.participant_id])
    if isinstance(form, (FollowUp, Death)):
        # PROTOCOL §7, §10: a follow-up recording "dead" without a complete
        # Death form has its query with the form; the Death form closes it.
        vital_status_autocheck([form.participant_id])
    _autocheck_after_commit(form.participant_id)
    return form


def _autocheck_after_commit(participant_id: int) -> None:
    """Re-run the automatic data checks for this participant once the save has
    committed (a broker outage is logged, never an error for the user; the
    daily run catches up).

    One task per transaction, not per form: the participants saved in one
    transaction (several forms at once, the demo's history) are checked
    together, in one run of a fixed number of SQL queries. Each save adds its
    participant to the connection's pending set and registers a callback; the
    first callback to run at commit takes the whole set, the others find it
    empty. A rolled-back save leaves its id in the set, checked with the next
    commit (the checks are idempotent).
    """
    from crf.tasks import queries_autocheck_task

    pending = transaction.get_connection().__dict__.setdefault(
        "_crf_autocheck_pending", set()
    )
    pending.add(participant_id)

    def send():
        ids = sorted(pending)
        pending.clear()
        if ids:
            queries_autocheck_task.delay(participant_ids=ids)

    transaction.on_commit(send, robust=True)


def _lifecycle_follow(*, actor: User, form: CrfForm, reason: str) -> None:
    """PROTOCOL §3: a complete death, withdrawal or final-visit form moves the
    participant's status (once; a later correction of the form does not)."""
    final_visit = visit_definitions()[-1].code
    if isinstance(form, Death):
        target = ParticipantStatus.DIED
    elif isinstance(form, Withdrawal):
        target = (
            ParticipantStatus.LOST_TO_FOLLOW_UP
            if form.kind == Withdrawal.Kind.LOST
            else ParticipantStatus.WITHDRAWN
        )
    elif isinstance(form, FollowUp) and form.visit == final_visit and form.visit_date:
        target = ParticipantStatus.COMPLETED
    else:
        return
    participant = Participant.objects.select_for_update().get(pk=form.participant_id)
    if participant.status == target:
        return
    participant_status_change(
        participant=participant,
        to_status=target,
        actor=actor,
        reason=reason or f"{form._meta.verbose_name.capitalize()} form completed",
    )


def _signature_check(actor: User, password: str, *, many: bool = False) -> None:
    """The e-signature's two conditions: the role, and the password entered
    again (checked once, however many forms it signs)."""
    _require(actor, "crf.sign_forms", "Only a site investigator signs forms.")
    if not actor.check_password(password):
        signed = "no form is signed" if many else "the form is not signed"
        raise SignatureRefused(
            f"The password is not correct; {signed}.", field="password"
        )


@transaction.atomic
def form_sign(*, actor: User, form: CrfForm, password: str) -> CrfForm:
    """Investigator's e-signature: the password is entered again to sign."""
    _signature_check(actor, password)
    return _sign(actor, _scoped_lock(actor, form))


def _sign(actor: User, current: CrfForm) -> CrfForm:
    """Sign ``current`` (read under its row lock), audited."""
    if current.locked:
        raise FormLocked("This form is locked by the Methods Centre.")
    if current.status != FormStatus.COMPLETE:
        raise SignatureRefused("Only a complete form can be signed.")
    with audit_context(actor=actor, reason="Signed by the investigator"):
        current.status = FormStatus.SIGNED
        current.signed_at = timezone.now()
        current.signed_by = actor
        current.save(update_fields=["status", "signed_at", "signed_by"])
    return current


def _form_name(form: CrfForm) -> str:
    """A form as a coordinator names it in a message: "Follow-up visit, 2
    weeks", "Adverse event #12", "Baseline"."""
    name = str(spec_for_model(type(form)).label)
    visit = getattr(form, "visit", "")
    if visit:
        return f"{name}, {visit_labels().get(visit, visit)}"
    if spec_for_model(type(form)).kind == REPEATABLE:
        return f"{name} #{form.pk}"
    return name


def _locked_as_shown(
    actor: User, forms: Sequence[tuple[CrfForm, int]]
) -> list[CrfForm]:
    """Each form read again under its row lock, one query per kind of form,
    in a fixed order (model, id: two bulk actions never wait on each other in
    a cycle); ``StaleForms`` naming those changed since the page showed them
    (their version moved on). A form outside the actor's scope: refused."""
    shown: dict[type[CrfForm], dict[int, int]] = {}
    for form, version in forms:
        shown.setdefault(type(form), {})[form.pk] = version
    current, stale = [], []
    for model in sorted(shown, key=lambda m: m._meta.label):
        versions = shown[model]
        rows = list(
            model.objects.select_for_update(of=("self",))
            .filter(participant__in=participants_for(actor), pk__in=versions)
            .order_by("pk")
        )
        if len(rows) != len(versions):
            raise PermissionDenied("A form is not at one of your sites.")
        for row in rows:
            if row.version != versions[row.pk]:
                stale.append(_form_name(row))
        current.extend(rows)
    if stale:
        raise StaleForms(stale)
    return current


@transaction.atomic
def forms_sign(
    *, actor: User, forms: Sequence[tuple[CrfForm, int]], password: str
) -> list[CrfForm]:
    """Sign several of a participant's forms with one password entry: each
    ``(form, version shown)`` is signed as ``form_sign`` signs one (audited
    one by one), all in one transaction. A wrong password, or any form changed
    since it was shown, locked or no longer complete, signs nothing."""
    _signature_check(actor, password, many=True)
    signed = []
    for current in _locked_as_shown(actor, forms):
        try:
            signed.append(_sign(actor, current))
        except TrialError as error:
            raise SignatureRefused(
                f"{_form_name(current)}: {error.message} Nothing was signed."
            ) from error
    return signed


@transaction.atomic
def forms_lock(*, actor: User, forms: Sequence[tuple[CrfForm, int]]) -> list[CrfForm]:
    """Lock several complete forms (a participant's, or one visit's across a
    site), each as ``form_lock`` locks one (audited), in one transaction. Any
    form changed since it was shown, or no longer complete, locks nothing."""
    _require(actor, "crf.lock_forms", "Only the Methods Centre locks forms.")
    locked = []
    for current in _locked_as_shown(actor, forms):
        if not current.is_complete:  # a save moves the version: a backstop
            raise StaleForms([_form_name(current)])
        locked.append(_lock_set(actor, current, locked=True))
    return locked


@transaction.atomic
def form_lock(*, actor: User, form: CrfForm, locked: bool, reason: str = "") -> CrfForm:
    """Lock or unlock a form (data manager); unlocking needs a reason."""
    _require(actor, "crf.lock_forms", "Only the Methods Centre locks forms.")
    return _lock_set(actor, _scoped_lock(actor, form), locked=locked, reason=reason)


def _lock_set(
    actor: User, current: CrfForm, *, locked: bool, reason: str = ""
) -> CrfForm:
    """Lock or unlock ``current`` (read under its row lock), audited."""
    if locked == current.locked:
        return current
    if not locked and not reason.strip():
        raise ReasonRequired()
    with audit_context(actor=actor, reason=reason.strip()):
        current.locked = locked
        current.locked_at = timezone.now() if locked else None
        current.locked_by = actor if locked else None
        current.save(update_fields=["locked", "locked_at", "locked_by"])
    return current
