"""Signing and locking several forms at once.

* **Sign all** (``crf.sign_forms``, the site investigator): a participant's
  complete, unsigned forms, each ticked and linked; one password entry signs
  the ticked ones in one transaction (``services.forms_sign``: each signed and
  audited as one alone is). A wrong password signs nothing; so does a ticked
  form changed since the page was shown (its version moved on), and the page
  says which.
* **Lock all** (``crf.lock_forms``, the Methods Centre): a participant's
  complete forms, the same way (``services.forms_lock``).
* **Lock a visit** (``crf.lock_forms``): one visit's complete follow-up forms
  across a site. Choose the site and the visit, see the count and the study
  IDs, confirm; forms changed or completed after the count was shown are
  refused (the count is confirmed again), never locked unseen.

A participant is read through the site-scoped selector (404 for another
site's), a site through ``sites_for``.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from crf.forms import services, worklists
from crf.forms.bulk_forms import (
    BulkLockForm,
    BulkSignForm,
    VisitLockChoiceForm,
    VisitLockConfirmForm,
)
from crf.models import FollowUp
from crf.schedule.visits import visit_labels
from perform import selectors as core_selectors
from perform.exceptions import TrialError

SIGN, LOCK = "crf.sign_forms", "crf.lock_forms"


def _bulk_page(request, study_id, *, form_class, listed, perform, title, verb):
    """The shared page: the listed forms ticked, the form, the service call."""
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    entries = listed(participant)
    form = form_class(
        request.POST if request.method == "POST" else None,
        initial={"forms": [entry.token for entry in entries]},
    )
    if request.method == "POST" and form.is_valid():
        chosen, unknown = worklists.forms_by_token(
            participant, form.cleaned_data["forms"]
        )
        if unknown:
            form.add_error("forms", "A ticked form is not one of this participant's.")
        else:
            try:
                done = perform(chosen, form.cleaned_data)
            except TrialError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            except PermissionDenied:
                raise Http404("No such form.") from None
            else:
                messages.success(
                    request, f"{len(done)} forms of {participant.study_id} {verb}."
                )
                return redirect("crf:participant_forms", study_id=study_id)
    ticked = set(form["forms"].value() or [])
    return render(
        request,
        "crf/forms_bulk.html",
        {
            "participant": participant,
            "rows": [(entry, entry.token in ticked) for entry in entries],
            "form": form,
            "title": title,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(SIGN, raise_exception=True)
def participant_forms_sign(request, study_id):
    return _bulk_page(
        request,
        study_id,
        form_class=BulkSignForm,
        listed=worklists.participant_forms_to_sign,
        perform=lambda chosen, data: services.forms_sign(
            actor=request.user, forms=chosen, password=data["password"]
        ),
        title="Sign complete forms",
        verb="signed",
    )


@require_http_methods(["GET", "POST"])
@permission_required(LOCK, raise_exception=True)
def participant_forms_lock(request, study_id):
    return _bulk_page(
        request,
        study_id,
        form_class=BulkLockForm,
        listed=worklists.participant_forms_to_lock,
        perform=lambda chosen, data: services.forms_lock(
            actor=request.user, forms=chosen
        ),
        title="Lock complete forms",
        verb="locked",
    )


@require_http_methods(["GET", "POST"])
@permission_required(LOCK, raise_exception=True)
def visit_forms_lock(request):
    """GET: choose a site and a visit, see the forms to lock and their count.
    POST: lock exactly the forms counted, unless one has changed since."""
    sites = core_selectors.sites_for(request.user).order_by("code")
    posted = request.POST if request.method == "POST" else None
    choice = VisitLockChoiceForm(
        {"site": posted.get("site"), "visit": posted.get("visit")}
        if posted
        else request.GET or None,
        sites=sites,
    )
    forms_to_lock, confirm, refusal = [], None, ""
    if choice.is_bound and choice.is_valid():
        site, visit = choice.cleaned_data["site"], choice.cleaned_data["visit"]
        confirmed = VisitLockConfirmForm(posted) if posted else None
        if confirmed is not None and confirmed.is_valid():
            try:
                done = _visit_forms_lock(
                    request.user, site, visit, confirmed.cleaned_data["shown"]
                )
            except TrialError as error:
                refusal = error.message
            else:
                messages.success(
                    request,
                    f"{len(done)} follow-up forms ({visit_labels()[visit]}) "
                    f"at {site.code} locked.",
                )
                return redirect(
                    f"{reverse('crf:visit_forms_lock')}?site={site.code}&visit={visit}"
                )
        forms_to_lock = list(
            worklists.visit_forms_to_lock(user=request.user, site=site, visit=visit)
        )
        if forms_to_lock:
            confirm = VisitLockConfirmForm(
                initial={
                    "site": site.code,
                    "visit": visit,
                    "shown": ",".join(f"{f.pk}:{f.version}" for f in forms_to_lock),
                },
                count=len(forms_to_lock),
            )
    return render(
        request,
        "crf/visit_forms_lock.html",
        {
            "choice": choice,
            "confirm": confirm,
            "refusal": refusal,
            "forms_to_lock": forms_to_lock,
            "visit_label": visit_labels().get(choice.data.get("visit") or "", ""),
        },
    )


def _visit_forms_lock(user, site, visit: str, shown: dict[int, int]):
    """Lock the follow-up forms ``shown`` (id → version) of ``visit`` at
    ``site``; 404 for an id that is not one of them in the user's scope."""
    chosen = list(
        FollowUp.objects.filter(
            participant__in=core_selectors.participants_for(user).filter(site=site),
            visit=visit,
            pk__in=shown,
        )
    )
    if len(chosen) != len(shown):
        raise Http404("No such form.")
    return services.forms_lock(
        actor=user, forms=[(form, shown[form.pk]) for form in chosen]
    )
