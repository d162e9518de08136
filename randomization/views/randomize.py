"""Randomizing a participant: the confirmation step, the randomize action, and
the allocation it made (page and PDF confirmation)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from perform import selectors as core_selectors
from perform.eligibility import eligibility_evaluate
from perform.models import ConsentRecord
from randomization import selectors, services, strata
from randomization.confirmation import pre_randomization_warnings
from randomization.exceptions import RandomizationError
from randomization.forms import RandomizeForm
from randomization.pdf import allocation_confirmation_pdf
from randomization.views.common import _posted

# The answer to a randomize request is the arm: both are needed (as in the API).
RANDOMIZE_PERMISSIONS = (
    "randomization.randomize_participant",
    "randomization.view_allocation",
)


def _randomization_check(user, participant) -> dict:
    """What the confirmation page shows: stratum data, consent, eligibility,
    and every reason the participant cannot be randomized now."""
    allocation_list = selectors.active_list()
    factors = (
        allocation_list.factors
        if allocation_list
        else settings.RANDOMIZATION["STRATIFICATION_FACTORS"]
    )
    levels, missing = strata.participant_levels(participant, factors)
    allocation = selectors.allocation_shown_to(user, participant)
    reasons = []
    if allocation is None:
        if allocation_list is None:
            reasons.append("Randomization is not open: no allocation list is active.")
        reasons.extend(services.randomization_blockers(participant, factors))
    return {
        "allocation": allocation,
        "allocation_list": allocation_list,
        "stratification": [
            (strata.FACTORS[name].label, levels.get(name)) for name in factors
        ],
        "stratum_label": "" if missing else strata.stratum_label(levels),
        "consent": participant.consents.filter(
            decision=ConsentRecord.Decision.GIVEN
        ).last(),
        "eligibility": eligibility_evaluate(
            criteria=core_selectors.criteria_active(),
            answers=core_selectors.participant_answers(participant),
            age=participant.age_at_screening,
        ),
        "reasons": reasons,
        "can_confirm": allocation is None and not reasons,
    }


@require_http_methods(["GET", "POST"])
@permission_required(RANDOMIZE_PERMISSIONS, raise_exception=True)
def participant_randomize(request, study_id):
    """GET: the confirmation step. POST: randomize (a repeated POST returns
    the allocation already made), then show the result."""
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    form = RandomizeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.participant_randomize(
                actor=request.user, participant=participant
            )
        except RandomizationError as error:
            form.add_error(None, error.message)
        else:
            if result.created:
                messages.success(request, f"{study_id} has been randomized.")
            else:
                messages.info(
                    request,
                    f"{study_id} was already randomized: nothing new was allocated.",
                )
            return redirect("randomization:allocation", study_id=study_id)
    return render(
        request,
        "randomization/randomize.html",
        {
            "participant": participant,
            "form": form,
            **_randomization_check(request.user, participant),
            "warnings": pre_randomization_warnings(request.user, participant),
        },
    )


def _allocation_or_404(user, study_id):
    participant = core_selectors.participant_get(user=user, study_id=study_id)
    allocation = selectors.allocation_shown_to(user, participant)
    if allocation is None:
        raise Http404("No allocation to show.")
    return participant, allocation


@require_GET
@never_cache
@permission_required("randomization.view_allocation", raise_exception=True)
def participant_allocation(request, study_id):
    participant, allocation = _allocation_or_404(request.user, study_id)
    return render(
        request,
        "randomization/allocation.html",
        {"participant": participant, "allocation": allocation},
    )


@require_GET
@never_cache
@permission_required("randomization.view_allocation", raise_exception=True)
def participant_allocation_pdf(request, study_id):
    participant, allocation = _allocation_or_404(request.user, study_id)
    response = HttpResponse(
        allocation_confirmation_pdf(
            allocation=allocation, participant=participant, generated_at=timezone.now()
        ),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = (
        f'inline; filename="randomization-{participant.study_id}.pdf"'
    )
    return response
