"""Personal survey links (PROTOCOL §13): unguessable, free of personal data,
good for one participant and visit.

A link is ``/survey/<token>/``. The token is 256 bits: an HMAC-SHA256, keyed
with the platform's secret key, of the invitation's id and a random 128-bit
nonce (Django's ``salted_hmac``), written in URL-safe base64. It says nothing
about the participant, the site or the visit. The database keeps only the
token's SHA-256 digest (``SurveyInvitation.token_digest``), so a copy of the
database cannot open a survey; the platform derives the same token again from
the nonce when it sends a reminder. Rotating ``SECRET_KEY`` invalidates every
link sent before (the participant then answers on the clinic tablet or a new
invitation is issued).

Whether the link opens is decided by ``crf.epro.windows.survey_window`` (the
window, submission, the end of follow-up); ``invitation_for_token`` only finds
the invitation a token belongs to.
"""

import base64
import hashlib
import re
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from crf.models import SurveyInvitation

_SALT = "perform.crf.epro.links"
# 32 bytes in URL-safe base64 without padding.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(invitation_id: int, nonce: str) -> str:
    """The link token of an invitation (the same every time it is asked)."""
    digest = salted_hmac(_SALT, f"{invitation_id}:{nonce}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(invitation: SurveyInvitation) -> str:
    """The absolute survey link of ``invitation``."""
    token = token_for(invitation.pk, invitation.nonce)
    return settings.SITE_URL + reverse("epro:survey", args=[token])


def invitation_for_token(token: str) -> SurveyInvitation | None:
    """The invitation ``token`` belongs to, or None (malformed or unknown)."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    invitation = (
        SurveyInvitation.objects.select_related("participant", "participant__site")
        .filter(token_digest=token_digest(token))
        .first()
    )
    if invitation is None:
        return None
    # The digest matched: check the token is the one derived for this row
    # (constant time), so a digest planted in the table opens nothing.
    expected = token_for(invitation.pk, invitation.nonce)
    if not secrets.compare_digest(expected, token):
        return None
    return invitation
