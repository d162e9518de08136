"""The contact preferences page of a participant (site staff only): record
or change the preferences, record the participant's opt-out or undo it.

Who: staff who enter forms (403 otherwise), for a participant in their scope
(``perform.selectors.participant_get``: another site's participant is 404),
and whom ``crf.epro.contacts.contact_details_visible`` lets read the details
(the Methods Centre never: 403). A participant who has not consented (or whose
follow-up ended) gets a page saying so, with nothing to fill in.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from crf.epro import contacts
from crf.epro.contact_forms import (
    OPT_IN_ACTION,
    OPT_OUT_ACTION,
    SAVE_ACTION,
    ContactOptOutForm,
    ContactPreferenceForm,
)
from perform import selectors as core_selectors
from perform.exceptions import TrialError

ENTER = "crf.enter_forms"


def _apply_trial_error(form, error: TrialError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require_http_methods(["GET", "POST"])
@permission_required(ENTER, raise_exception=True)
def participant_contact(request, study_id):
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    if not contacts.contact_details_visible(request.user, participant):
        raise PermissionDenied(
            "Contact details are shown only to the participant's site staff."
        )
    context = {"participant": participant}
    if not contacts.contact_allowed_for(participant):
        context["not_allowed"] = contacts.contact_not_allowed_message(participant)
        return render(request, "crf/epro/contact.html", context)
    preference = contacts.contact_preference_get(participant=participant)
    posted = request.POST if request.method == "POST" else {}
    form = ContactPreferenceForm(
        posted if SAVE_ACTION in posted else None, instance=preference
    )
    opt_out_form = None
    if preference is not None:
        opted_out = preference.opted_out_at is not None
        action = OPT_IN_ACTION if opted_out else OPT_OUT_ACTION
        opt_out_form = ContactOptOutForm(
            posted if action in posted else None, opted_out=opted_out
        )
    if form.is_bound and form.is_valid():
        try:
            contacts.contact_preference_save(
                actor=request.user, participant=participant, **form.service_kwargs()
            )
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(request, f"Contact preferences of {study_id} saved.")
            return redirect("epro:participant_contact", study_id=study_id)
    elif opt_out_form is not None and opt_out_form.is_bound:
        if opt_out_form.is_valid():
            undo = opt_out_form.action == OPT_IN_ACTION
            service = (
                contacts.contact_opt_out_undo if undo else contacts.contact_opt_out
            )
            try:
                service(
                    actor=request.user,
                    participant=participant,
                    reason=opt_out_form.cleaned_data["reason"],
                )
            except TrialError as error:
                _apply_trial_error(opt_out_form, error)
            else:
                messages.success(
                    request,
                    f"{study_id} may be sent messages again."
                    if undo
                    else f"Opt-out of {study_id} recorded: no more messages.",
                )
                return redirect("epro:participant_contact", study_id=study_id)
    elif request.method == "POST":
        # A post from neither form (a stale page, a forged request): nothing
        # is saved, and the page says so.
        context["unknown_post"] = "Nothing was saved: use one of the buttons below."
    context.update(preference=preference, form=form, opt_out_form=opt_out_form)
    return render(request, "crf/epro/contact.html", context)
