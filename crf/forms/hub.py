"""The participant's CRF hub: the visit timeline, every form with its status
and the open queries; its own page and a section of the participant page
(``perform.panels``, registered by ``crf.apps``)."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from crf.forms import selectors
from crf.forms.registry import FORMS, PER_VISIT, REPEATABLE, SINGLE, form_url
from crf.forms.rules import form_allowed_for, form_not_allowed_message
from crf.forms.views import ENTER, VIEW
from perform import selectors as core_selectors
from perform.models import Participant


def participant_forms_panel(user, participant: Participant) -> dict | None:
    """The forms section of the participant page (``perform.panels``): shown to
    users who may view forms."""
    if not user.has_perm("crf.view_forms"):
        return None
    return participant_forms_context(user, participant)


def participant_forms_context(user, participant: Participant) -> dict:
    """What the CRF hub shows (also embedded in the participant page): the visit
    timeline, every single form with its status, the repeatable forms as lists
    and the open query count. A fixed number of queries.

    Forms the participant's status does not allow are left out (with a line
    saying why), unless one was entered before: that one is listed, without
    an entry link for more."""
    overview = selectors.participant_forms_overview(participant)
    study_id = participant.study_id
    allowed = {key: form_allowed_for(spec, participant) for key, spec in FORMS.items()}
    follow_up = next(spec for spec in FORMS.values() if spec.kind == PER_VISIT)
    timeline = [
        {
            "state": visit,
            "form": overview.follow_ups.get(visit.code),
            "url": form_url(study_id, follow_up, visit=visit.code)
            if allowed[follow_up.key] or visit.code in overview.follow_ups
            else None,
        }
        for visit in overview.schedule
    ]
    single = [
        {
            "spec": spec,
            "form": overview.single[spec.key],
            "url": form_url(study_id, spec),
        }
        for spec in FORMS.values()
        if spec.kind == SINGLE and (allowed[spec.key] or overview.single[spec.key])
    ]
    repeatable = [
        {
            "spec": spec,
            "forms": [
                (form, form_url(study_id, spec, pk=form.pk))
                for form in overview.repeatable[spec.key]
            ],
            "new_url": form_url(study_id, spec) if allowed[spec.key] else None,
        }
        for spec in FORMS.values()
        if spec.kind == REPEATABLE
        and (allowed[spec.key] or overview.repeatable[spec.key])
    ]
    not_allowed = [
        form_not_allowed_message(spec, participant)
        for key, spec in FORMS.items()
        if not allowed[key]
    ]
    return {
        "crf_timeline": timeline,
        "crf_single": single,
        "crf_repeatable": repeatable,
        "crf_not_allowed": list(dict.fromkeys(not_allowed)),
        "open_queries": overview.open_queries,
        "can_enter_forms": user.has_perm(ENTER),
        **selectors.participant_notifications(participant),
    }


@require_http_methods(["GET"])
@permission_required(VIEW, raise_exception=True)
def participant_forms(request, study_id):
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    return render(
        request,
        "crf/participant_forms.html",
        {
            "participant": participant,
            **participant_forms_context(request.user, participant),
        },
    )
