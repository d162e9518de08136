"""Survey pages (placeholder: the survey helper replaces this module)."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse

from crf.epro.links import invitation_for_token


@login_not_required
def survey(request, token):
    invitation = invitation_for_token(token)
    if invitation is None:
        raise Http404
    return HttpResponse("survey")


def link_rate_limited(request, exception):
    return HttpResponse("Too many attempts", status=429)
