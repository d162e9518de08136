"""API tokens (PROTOCOL §12): issued per client, stored hashed, expiring, and
revoked whenever the account's credentials or standing change.

django-rest-knox does the cryptography (random token, SHA-512 digest, the
expiry check); this module adds what the trial needs on top:

* one token per user and client name (a new login of the same client replaces
  its token), at most ``API_TOKENS_PER_USER`` per user;
* an idle lifetime (``REST_KNOX["TOKEN_TTL"]``, renewed by use) and an
  absolute one (``REST_KNOX["AUTO_REFRESH_MAX_TTL"]``);
* revocation on logout (the API's logout endpoints), on a password change and
  on deactivation (whatever path saves the account: the pages, the admin, a
  shell; see ``user_credentials_changed``), and on a django-axes lockout.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

from perform.exceptions import TrialError
from perform.models import ApiToken, User

log = logging.getLogger(__name__)


class TooManyTokens(TrialError):
    code = "too_many_tokens"


@transaction.atomic
def api_token_issue(*, user: User, client: str) -> tuple[ApiToken, str]:
    """A new token for ``user``'s ``client``, replacing that client's old one.

    Returns the row and the token, which exists nowhere else: only its digest
    is stored.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    ApiToken.objects.filter(user=user, client=client).delete()
    limit = settings.API_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise TooManyTokens(
            f"You already have {limit} API tokens; log one of your clients out "
            "(POST /api/v1/auth/logout/) before adding another.",
            field="client",
        )
    return ApiToken.objects.create(
        user=user, client=client, expiry=knox_settings.TOKEN_TTL
    )


def api_tokens_revoke(*, user_id: int, why: str) -> int:
    """Delete every API token of the user; the number deleted."""
    deleted, _ = ApiToken.objects.filter(user_id=user_id).delete()
    if deleted:
        log.info("Revoked %d API token(s) of user %s: %s", deleted, user_id, why)
    return deleted


def api_tokens_of(user: User):
    """The user's own tokens (never the digests), newest first."""
    return (
        ApiToken.objects.filter(user=user)
        .order_by("-created")
        .only("token_key", "client", "created", "expiry", "last_used_at", "user_id")
    )


# ---------------------------------------------------------------------------
# The token check (REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]). Not in
# perform.api: DRF imports it while rest_framework.views is being imported.
# ---------------------------------------------------------------------------
# What knox issues: lowercase hex of a fixed length. Anything else is refused
# before it reaches a query (a NUL byte or non-UTF-8 header would otherwise
# be a server error).
_TOKEN_SHAPE = re.compile(r"^[0-9a-f]+$")


class ApiTokenAuthentication(TokenAuthentication):
    """knox's token check, hardened: a malformed header is a 401, an inactive
    account's tokens are revoked, and each use is recorded (at most once a
    minute, with knox's renewal of the idle expiry)."""

    def authenticate_credentials(self, token):
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        prefix = knox_settings.TOKEN_PREFIX
        length = len(prefix) + knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
        if (
            len(text) != length
            or not text.startswith(prefix)
            or not _TOKEN_SHAPE.match(text[len(prefix) :])
        ):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)

    def renew_token(self, auth_token) -> None:
        before = auth_token.expiry
        super().renew_token(auth_token)
        # knox saves the new expiry only when it moved by more than
        # MIN_REFRESH_INTERVAL: the last use is recorded on the same writes.
        moved = (auth_token.expiry - before).total_seconds()
        if (
            moved > knox_settings.MIN_REFRESH_INTERVAL
            or auth_token.last_used_at is None
        ):
            type(auth_token).objects.filter(pk=auth_token.pk).update(
                last_used_at=timezone.now()
            )

    def validate_user(self, auth_token):
        if not auth_token.user.is_active:
            api_tokens_revoke(user_id=auth_token.user_id, why="account inactive")
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (auth_token.user, auth_token)


# ---------------------------------------------------------------------------
# Signal receivers (connected in perform.apps). Signals are the one hook that
# every path takes: Django has no "password changed" event, and django-axes
# announces a lockout only through ``user_locked_out``.
# ---------------------------------------------------------------------------
def user_credentials_changed(sender, instance: User, update_fields=None, **kwargs):
    """pre_save of User: a new password or a deactivation revokes the tokens."""
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password:
        api_tokens_revoke(user_id=instance.pk, why="password changed")
    elif before["is_active"] and not instance.is_active:
        api_tokens_revoke(user_id=instance.pk, why="account deactivated")


def user_locked_out(sender, username=None, **kwargs):
    """django-axes locked ``username`` out: its tokens go too."""
    user = User.objects.filter(username=username).only("pk").first()
    if user is not None:
        api_tokens_revoke(user_id=user.pk, why="locked out")
