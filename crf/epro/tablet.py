"""The clinic tablet (PROTOCOL §13): a coordinator opens a participant's
questionnaires on a clinic device, in a locked mode, and hands it over.

* Starting it (a POST from the participant page, ``tablet_panel``) needs
  ``crf.enter_forms`` and the participant in the coordinator's scope (another
  site's participant: 404), and a visit whose questionnaires are open today
  (``survey_window``). It opens the response (mode "clinic tablet", entered by
  the coordinator) and marks the coordinator's session as locked
  (``SESSION_KEY``).
* While locked, ``crf.epro.middleware.TabletLockMiddleware`` sends every other
  URL of the platform (pages, API, admin, log-out) to the tablet's survey,
  which is the link's survey (``crf.epro.survey_pages``) without the token.
* After submission the tablet thanks the participant and asks them to hand it
  back, still locked. Leaving needs the coordinator's password (the exit
  page); wrong passwords count as failed log-ins for django-axes, so the
  account locks after ``AXES_FAILURE_LIMIT`` of them, as at the log-in page,
  and the tablet stays locked meanwhile.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from crf.epro.participant_choices import response_language_set
from crf.epro.responses import response_open
from crf.epro.survey_pages import (
    SurveyDoor,
    autosave_answer,
    closed_render,
    page_shown,
    patient_language,
    survey_page,
    survey_render,
    thanks_render,
)
from crf.epro.windows import (
    page_survey_windows,
    survey_visit_labels,
    survey_window,
)
from crf.models import PromResponse, Respondent, ResponseMode
from perform.selectors import participant_get, participants_for

ENTER = "crf.enter_forms"
SESSION_KEY = "epro_tablet"


def tablet_locked(request) -> bool:
    return SESSION_KEY in request.session


def open_survey_visits(participant) -> list[tuple[str, str]]:
    """(code, label) of the visits whose questionnaires are open today (the
    baseline's, the follow-ups' whose window holds today), as the participant
    page's windows have them (``page_survey_windows``: the one rule, read
    once for the page)."""
    labels = survey_visit_labels()
    return [
        (code, labels[code])
        for code, window in page_survey_windows(participant).items()
        if window.is_open
    ]


def tablet_panel(user, participant) -> dict | None:
    """The participant page's "Open questionnaires on this tablet" form, for
    staff entering forms, when a visit's questionnaires are open."""
    if not user.has_perm(ENTER):
        return None
    visits = open_survey_visits(participant)
    if not visits:
        return None
    return {"epro_tablet_visits": visits, "epro_respondents": Respondent.choices}


@permission_required(ENTER, raise_exception=True)
@require_POST
def tablet_start(request, study_id):
    participant = participant_get(user=request.user, study_id=study_id)
    visit = request.POST.get("visit", "")
    back = reverse("participant_detail", args=[participant.study_id])
    if visit not in survey_visit_labels():
        messages.error(request, "Choose a visit whose questionnaires are open.")
        return redirect(back)
    window = survey_window(participant, visit)
    if not window.is_open:
        messages.error(request, f"Questionnaires not opened: {window.message}")
        return redirect(back)
    respondent = request.POST.get("respondent", Respondent.PARTICIPANT)
    if respondent not in Respondent.values:
        respondent = Respondent.PARTICIPANT
    existing = PromResponse.objects.filter(participant=participant, visit=visit).first()
    response = response_open(
        participant=participant,
        visit=visit,
        mode=ResponseMode.TABLET,
        language=existing.language
        if existing
        else patient_language(participant, request),
        respondent=respondent,
        entered_by=request.user,
    )
    request.session[SESSION_KEY] = {"response": response.pk}
    return redirect("epro:tablet")


def _door() -> SurveyDoor:
    return SurveyDoor(
        mode=ResponseMode.TABLET,
        page_url=reverse("epro:tablet"),
        autosave_url=reverse("epro:tablet_autosave"),
        language_url=reverse("epro:tablet_language"),
        exit_url=reverse("epro:tablet_exit"),
    )


def _tablet_response(request) -> PromResponse:
    """The response the session's tablet is open on (in the user's scope)."""
    state = request.session.get(SESSION_KEY)
    if not state:
        raise Http404("No questionnaire is open on this device.")
    response = PromResponse.objects.filter(
        pk=state.get("response"),
        participant__in=participants_for(request.user),
    ).first()
    if response is None:
        raise Http404("No questionnaire is open on this device.")
    return response


@require_http_methods(["GET", "POST"])
def tablet_survey(request):
    response = _tablet_response(request)
    if response.is_submitted:
        return thanks_render(request, response, _door())
    window = survey_window(response.participant, response.visit)
    if not window.is_open:
        return closed_render(request, window, language=response.language, door=_door())
    return survey_page(request, response, _door())


@require_POST
def tablet_autosave(request):
    response = _tablet_response(request)
    if not survey_window(response.participant, response.visit).is_open:
        response = None
    return autosave_answer(request, response)


@require_POST
def tablet_language(request):
    response = response_language_set(
        _tablet_response(request), request.POST.get("language", "")
    )
    page = page_shown(response, request.POST.get("page"))
    return redirect(f"{reverse('epro:tablet')}?page={page}")


@require_http_methods(["GET", "POST"])
def tablet_exit(request):
    """Leave the tablet mode with the coordinator's password."""
    response = _tablet_response(request)
    error = ""
    if request.method == "POST":
        credentials = {"username": request.user.get_username()}
        user = None
        if AxesProxyHandler.is_allowed(request, credentials):
            user = authenticate(
                request,
                username=request.user.get_username(),
                password=request.POST.get("password", ""),
            )
        # This page says what happened; not axes' log-in lockout page.
        request.axes_locked_out = False
        if user is not None and user.pk == request.user.pk:
            del request.session[SESSION_KEY]
            messages.success(request, "The tablet is back in staff mode.")
            return redirect("participant_detail", response.participant.study_id)
        with translation.override(response.language):
            if AxesProxyHandler.is_allowed(request, credentials):
                error = gettext("That password is not right. The tablet stays locked.")
            else:
                error = gettext(
                    "Too many wrong passwords: the account is locked for a while. "
                    "The tablet stays locked."
                )
    return survey_render(
        request,
        "crf/epro/tablet_exit.html",
        {"door": _door(), "error": error},
        language=response.language,
        status=200,
    )
