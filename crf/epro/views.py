"""The survey by personal link (PROTOCOL §13): no login; the token in the URL
is the only key (``crf.epro.links``). The pages themselves are
``crf.epro.survey_pages``'s, shared with the clinic tablet.

Choices written down:

* An unknown or tampered token answers 404 with a page that says only "This
  link is not valid": nothing about whether some participant, visit or
  invitation exists.
* Guessing is rate limited per client address (django-ratelimit, counters in
  the shared Redis cache, ``EPRO["LINK_GUESSES"]``, e.g. "20/h"): only wrong
  tokens count. Once an address is over the limit it gets 429 for every link
  page, a valid token included, until the period ends: a valid token from an
  address that has been guessing is more likely a hit than the patient, and
  the patient can still answer on the clinic tablet or wait an hour.
* A valid link whose questionnaires are not open (not yet, passed, answered,
  follow-up ended) answers **200** with a page saying so: the link is valid
  and the page is the answer the participant needs; 4xx codes are for links
  that are not. Never the form: a replay after submission changes nothing.
* The language is the response's (the participant's preference when it was
  opened, else the browser's); the switch on the page changes it.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from crf.epro.links import invitation_for_token
from crf.epro.participant_choices import contact_opt_out, response_language_set
from crf.epro.responses import response_open
from crf.epro.survey_pages import (
    SurveyDoor,
    autosave_answer,
    closed_render,
    page_shown,
    patient_language,
    survey_page,
    survey_render,
)
from crf.epro.windows import survey_window
from crf.models import PromResponse, ResponseMode, SurveyInvitation

LINK_GUESSES_GROUP = "crf.epro.link"


def _guessing(request, *, increment: bool) -> bool:
    return is_ratelimited(
        request,
        group=LINK_GUESSES_GROUP,
        key="ip",
        rate=settings.EPRO["LINK_GUESSES"],
        increment=increment,
    )


def link_rate_limited(request, exception=None):
    """429: too many wrong links from this address (also django-ratelimit's
    ``RATELIMIT_VIEW``)."""
    return survey_render(
        request,
        "crf/epro/survey_rate_limited.html",
        {},
        language=patient_language(None, request),
        status=429,
    )


def _link_invalid(request):
    if _guessing(request, increment=True):
        return link_rate_limited(request)
    return survey_render(
        request,
        "crf/epro/survey_invalid.html",
        {},
        language=patient_language(None, request),
        status=404,
    )


def _by_link(view):
    """Resolve the token of the URL to its invitation, or answer 404/429."""

    @login_not_required
    @wraps(view)
    def wrapped(request, token):
        if _guessing(request, increment=False):
            return link_rate_limited(request)
        invitation = invitation_for_token(token)
        if invitation is None:
            return _link_invalid(request)
        return view(request, invitation, token)

    return wrapped


def _door(token: str) -> SurveyDoor:
    return SurveyDoor(
        mode=ResponseMode.LINK,
        page_url=reverse("epro:survey", args=[token]),
        autosave_url=reverse("epro:survey_autosave", args=[token]),
        language_url=reverse("epro:survey_language", args=[token]),
        stop_url=reverse("epro:survey_stop", args=[token]),
    )


def _response_of(invitation: SurveyInvitation) -> PromResponse | None:
    return PromResponse.objects.filter(
        participant=invitation.participant, visit=invitation.visit
    ).first()


def _language(request, invitation) -> str:
    response = _response_of(invitation)
    if response is not None:
        return response.language
    return patient_language(invitation.participant, request)


@_by_link
@require_http_methods(["GET", "POST"])
def survey(request, invitation, token):
    window = survey_window(invitation.participant, invitation.visit)
    if not window.is_open:
        return closed_render(request, window, language=_language(request, invitation))
    response = response_open(
        participant=invitation.participant,
        visit=invitation.visit,
        mode=ResponseMode.LINK,
        language=_language(request, invitation),
        invitation=invitation,
    )
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        last_opened_at=timezone.now()
    )
    return survey_page(request, response, _door(token))


@_by_link
@require_POST
def survey_autosave(request, invitation, token):
    if not survey_window(invitation.participant, invitation.visit).is_open:
        return autosave_answer(request, None)
    return autosave_answer(request, _response_of(invitation))


@_by_link
@require_POST
def survey_language(request, invitation, token):
    response = _response_of(invitation)
    if response is not None:
        response = response_language_set(response, request.POST.get("language", ""))
        page = page_shown(response, request.POST.get("page"))
        return redirect(f"{reverse('epro:survey', args=[token])}?page={page}")
    return redirect("epro:survey", token)


@_by_link
@require_http_methods(["GET", "POST"])
def survey_stop(request, invitation, token):
    """ "Stop these messages": a confirmation page, then the opt-out."""
    stopped = False
    if request.method == "POST":
        contact_opt_out(participant=invitation.participant)
        stopped = True
    return survey_render(
        request,
        "crf/epro/survey_stop.html",
        {"stopped": stopped, "door": _door(token)},
        language=_language(request, invitation),
    )
