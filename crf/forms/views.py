"""Case report form pages: entry and editing, the audit history of a form,
signature and lock (the participant's hub: ``crf.forms.hub``). Bind a form,
call a service, render or redirect.

Permissions are checked here (403 for a missing role), site scope through
``perform.selectors.participant_get`` (404 for another site's participant).
A form is addressed by its registry key and, for follow-ups, the visit code or,
for repeatable forms, its id; ``_form_locate`` turns the URL into the form.

Forms the participant's lifecycle status does not allow
(``crf.forms.rules.form_allowed_for``: clinical forms before randomization) are not
offered on the hub; their page says why and has nothing to fill in (a form
entered before the rule existed is shown read-only).
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from crf.forms import services, worklists
from crf.forms.forms import (
    COMPLETE_BUTTON,
    NEXT_BUTTON,
    LockForm,
    SignForm,
    UnlockForm,
    crf_form_class,
)
from crf.forms.prom_answers import prom_banner, prom_section_legend
from crf.forms.read_only import read_only_fieldsets
from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, SINGLE, FormSpec, form_url
from crf.forms.rules import form_allowed_for, form_not_allowed_message
from crf.forms.wording import stored_scores
from crf.models import CrfForm, FormStatus
from crf.queries.markers import (
    form_query_markers,
    layout_add_query_markers,
    raise_query_url,
)
from crf.schedule.visits import visit_labels
from perform import kept_submissions
from perform import selectors as core_selectors
from perform.audit_views import audit_page
from perform.exceptions import TrialError
from perform.models import Participant

VIEW, ENTER, SIGN, LOCK, RAISE_QUERIES = (
    "crf.view_forms",
    "crf.enter_forms",
    "crf.sign_forms",
    "crf.lock_forms",
    "crf.raise_queries",
)


@dataclass(frozen=True)
class FormLocation:
    """Which form a URL names: its participant, spec, visit or id, and the
    form itself (``None`` for a form not entered yet)."""

    participant: Participant
    spec: FormSpec
    visit: str | None
    pk: int | None
    instance: CrfForm | None

    def url(self, action: str = "edit") -> str:
        """The URL of ``action`` (edit, history, sign, lock, unlock) here."""
        return form_url(
            self.participant.study_id,
            self.spec,
            action=action,
            visit=self.visit,
            pk=self.instance.pk if self.instance else self.pk,
        )

    @property
    def title(self) -> str:
        label = self.spec.label
        if self.visit:
            label = f"{label}: {visit_labels()[self.visit]}"
        elif self.spec.kind == REPEATABLE:
            label = f"{label} #{self.instance.pk}" if self.instance else f"New {label}"
        return f"{label} · {self.participant.study_id}"


def _form_locate(request, study_id, key, *, visit=None, pk=None, new=False):
    """The form a URL names, in the user's scope; 404 for anything else."""
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    spec = FORMS.get(key)
    if spec is None:
        raise Http404("No such form.")
    forms = spec.model.objects.filter(participant=participant)
    if visit is not None:
        if spec.kind != PER_VISIT or visit not in visit_labels():
            raise Http404("No such visit.")
        instance = forms.filter(visit=visit).first()
    elif pk is not None or new:
        if spec.kind != REPEATABLE:
            raise Http404("No such form.")
        instance = None
        if pk is not None:
            instance = forms.filter(pk=pk).first()
            if instance is None:
                raise Http404("No such form.")
    else:
        if spec.kind != SINGLE:
            raise Http404("No such form.")
        instance = forms.first()
    return FormLocation(participant, spec, visit, pk, instance)


def _existing(location: FormLocation) -> CrfForm:
    if location.instance is None:
        raise Http404("This form has not been entered yet.")
    return location.instance


def _apply_trial_error(form, error: TrialError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# ---------------------------------------------------------------- entry


@kept_submissions.restores_kept_submission
@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def form_edit(request, study_id, key, visit=None, pk=None, new=False):
    """Enter or edit one form. Locked forms, and users who may not enter
    forms, see the values read-only. A form the participant's status does not
    allow shows why, and the values of one entered before, read-only; nothing
    posted is saved."""
    location = _form_locate(request, study_id, key, visit=visit, pk=pk, new=new)
    can_enter = request.user.has_perm(ENTER)
    if new and not can_enter:
        raise PermissionDenied("You may not enter case report forms.")
    instance = location.instance
    participant = location.participant
    not_allowed = (
        None
        if form_allowed_for(location.spec, participant)
        else form_not_allowed_message(location.spec, participant)
    )
    read_only = (
        not can_enter
        or (instance is not None and instance.locked)
        or not_allowed is not None
    )
    form = None
    error = None
    if request.method == "POST":
        if not can_enter:
            raise PermissionDenied("You may not enter case report forms.")
        if not_allowed is None and read_only:
            error = "This form is locked by the Methods Centre."
    if not read_only:
        # A GET may bring back what was posted after the session expired:
        # the form is bound to it, not saved (perform.kept_submissions).
        data = (
            request.POST
            if request.method == "POST"
            else kept_submissions.submission_restore(request=request)
        )
        complete = data is not None and (COMPLETE_BUTTON in data or NEXT_BUTTON in data)
        if instance is None:
            instance = location.spec.model(participant=participant)
            if visit is not None:
                instance.visit = visit
        form = crf_form_class(location.spec)(data, instance=instance, complete=complete)
        if request.method == "POST" and form.is_valid():
            try:
                saved = services.form_save(
                    actor=request.user,
                    form=form.save(commit=False),
                    complete=complete,
                    reason=form.change_reason,
                    based_on_version=form.cleaned_data.get("based_on_version"),
                )
            except ValidationError as refusal:
                # PROTOCOL §7's rules (``crf.forms.rules``), checked by the
                # service alone: shown on the fields they name.
                form.add_rule_errors(refusal)
            except TrialError as trial_error:
                if trial_error.field == "reason":
                    trial_error.field = form.reason_field
                _apply_trial_error(form, trial_error)
            else:
                messages.success(
                    request,
                    f"{location.spec.label} saved as {saved.get_status_display()}"
                    f" (version {saved.version}).",
                )
                if NEXT_BUTTON in request.POST:
                    return _next_form_redirect(request, location, saved)
                return redirect(
                    form_url(
                        study_id,
                        location.spec,
                        visit=visit,
                        pk=saved.pk,
                    )
                )
    query_markers = form_query_markers(
        user=request.user,
        participant=participant,
        model=location.spec.model,
        field_names=location.spec.fields,
        visit=visit,
        instance=location.instance,
    )
    if form is not None:
        layout_add_query_markers(form.helper.layout, query_markers)
    return render(
        request,
        "crf/form_edit.html",
        {
            "participant": participant,
            "location": location,
            "instance": location.instance,
            "form": form,
            "error": error,
            "not_allowed": not_allowed,
            "read_only": read_only,
            "fieldsets": read_only_fieldsets(
                location.spec, location.instance, query_markers
            ),
            "scores": stored_scores(location.instance) if read_only else [],
            # The edit page's layout carries its own (crf.forms.prom_answers).
            "prom_banner": prom_banner(location.instance) if read_only else None,
            "prom_legend": prom_section_legend(location.spec),
            "actions": _actions(request.user, location),
            "query_markers": query_markers,
        },
    )


def _next_form_redirect(request, location: FormLocation, saved: CrfForm):
    """To the participant's next form that needs entry after this one, in
    trial order; after the last, back to the participant's forms."""
    participant = location.participant
    participant.refresh_from_db()  # a complete form may have moved its status
    following = worklists.participant_next_form(
        participant,
        after=worklists.trial_position(
            location.spec, visit=location.visit, pk=saved.pk
        ),
    )
    if following is None:
        messages.info(
            request,
            f"No later form of {participant.study_id} needs entry.",
        )
        return redirect("crf:participant_forms", study_id=participant.study_id)
    return redirect(following.url)


def _actions(user, location: FormLocation) -> dict:
    """Links to the form's other pages the user may use."""
    instance = location.instance
    if instance is None:
        return {}
    return {
        "history_url": location.url("history"),
        "sign_url": location.url("sign")
        if user.has_perm(SIGN)
        and instance.status == FormStatus.COMPLETE
        and not instance.locked
        else None,
        "lock_url": location.url("lock")
        if user.has_perm(LOCK) and not instance.locked
        else None,
        "unlock_url": location.url("unlock")
        if user.has_perm(LOCK) and instance.locked
        else None,
        "raise_query_url": raise_query_url(instance)
        if user.has_perm(RAISE_QUERIES)
        else None,
    }


# ---------------------------------------------------------------- history


@require_http_methods(["GET"])
@permission_required(VIEW, raise_exception=True)
def form_history(request, study_id, key, visit=None, pk=None):
    """The audit trail of one form (``perform.audit_views.audit_page``)."""
    location = _form_locate(request, study_id, key, visit=visit, pk=pk)
    instance = _existing(location)
    name = location.spec.key + (f"-{visit}" if visit else "")
    if location.spec.kind == REPEATABLE:
        name = f"{name}-{instance.pk}"
    return audit_page(
        request,
        participant=location.participant,
        record=instance,
        title=f"History · {location.title}",
        filename=f"audit-trail-{location.participant.study_id}-{name}.csv",
        context={
            "location": location,
            "instance": instance,
            "header_template": "crf/includes/form_header.html",
            "back_url": location.url(),
            "hide_record": True,
        },
    )


# ---------------------------------------------------------------- sign, lock


def _form_action(request, location, *, form_class, perform, title, done):
    """A confirmation page: GET shows the form, POST calls the service."""
    instance = _existing(location)
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            perform(instance, form.cleaned_data)
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(request, done)
            return redirect(location.url())
    return render(
        request,
        "crf/form_action.html",
        {
            "participant": location.participant,
            "location": location,
            "instance": instance,
            "form": form,
            "title": title,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(SIGN, raise_exception=True)
def form_sign(request, study_id, key, visit=None, pk=None):
    location = _form_locate(request, study_id, key, visit=visit, pk=pk)
    return _form_action(
        request,
        location,
        form_class=SignForm,
        perform=lambda instance, data: services.form_sign(
            actor=request.user, form=instance, password=data["password"]
        ),
        title="Sign",
        done=f"{location.spec.label} signed.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(LOCK, raise_exception=True)
def form_lock(request, study_id, key, visit=None, pk=None):
    location = _form_locate(request, study_id, key, visit=visit, pk=pk)
    return _form_action(
        request,
        location,
        form_class=LockForm,
        perform=lambda instance, data: services.form_lock(
            actor=request.user, form=instance, locked=True
        ),
        title="Lock",
        done=f"{location.spec.label} locked.",
    )


@require_http_methods(["GET", "POST"])
@permission_required(LOCK, raise_exception=True)
def form_unlock(request, study_id, key, visit=None, pk=None):
    location = _form_locate(request, study_id, key, visit=visit, pk=pk)
    return _form_action(
        request,
        location,
        form_class=UnlockForm,
        perform=lambda instance, data: services.form_lock(
            actor=request.user, form=instance, locked=False, reason=data["reason"]
        ),
        title="Unlock",
        done=f"{location.spec.label} unlocked.",
    )


__all__ = [
    "form_edit",
    "form_history",
    "form_lock",
    "form_sign",
    "form_unlock",
    "form_url",
]
