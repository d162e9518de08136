"""Two-factor authentication (PROTOCOL §12): who needs it, and wrong codes.

django-otp holds the devices (a TOTP authenticator app, and a "static" device
of single-use recovery codes); django-two-factor-auth supplies the log-in
wizard and the set-up pages (``perform.mfa_views`` adapts them). This module
owns the two rules they do not:

* **who must use it**: every Methods Centre account (data manager, randomizer,
  statistician), site investigators, DSMB members, the administrator and the
  system owner (any staff or superuser account); site coordinators may turn it
  on. Decided by what the account may do (``OTP_REQUIRED_PERMISSIONS``: see
  every site, sign forms, read closed reports), not by group names: a new
  role with such a permission needs it at once, and the check reads the
  permission cache every page fills anyway, so it costs no query per request.
  ``settings.TWO_FACTOR_REQUIRED`` switches the requirement off for the demo,
  and every page then says so;
* **a wrong code counts toward the lockout**: it is reported to django-axes as
  a failed login for that username from that address, exactly like a wrong
  password, so five wrong codes lock the account for the cool-off.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django_otp import devices_for_user, match_token

# Holding any of these makes an account need a second factor: every site's
# data (data manager, randomizer, statistician), the investigator's signature,
# unblinded reports (DSMB, statistician). Staff and superusers (administrator,
# system owner) need it too.
OTP_REQUIRED_PERMISSIONS = (
    "perform.view_all_sites",
    "crf.sign_forms",
    "outcomes.view_closed_report",
)


def otp_required(user) -> bool:
    """Whether ``user`` must log in with a second factor."""
    if not settings.TWO_FACTOR_REQUIRED or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return any(user.has_perm(perm) for perm in OTP_REQUIRED_PERMISSIONS)


def otp_enabled(user) -> bool:
    """Whether ``user`` has a confirmed authenticator (then every log-in asks
    for a code, whether or not the role requires it)."""
    return any(
        device.__class__.__name__ == "TOTPDevice"
        for device in devices_for_user(user, confirmed=True)
    )


def otp_failure(request, *, username: str) -> None:
    """Record a wrong second-factor code as a failed login (django-axes)."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": username},
        request=request,
    )


def api_login_refusal(request, *, user, code: str) -> str | None:
    """Why an API token may not be issued to ``user`` (who gave the right
    password) with second-factor ``code``; None when it may."""
    if not (otp_required(user) or otp_enabled(user)):
        return None
    if not otp_enabled(user):
        return (
            "Your account needs two-factor authentication: set it up in the web "
            "application (Account security) before asking for an API token."
        )
    code = (code or "").strip().replace(" ", "")
    if not code:
        return "Enter the code of your authenticator app (otp_token)."
    if match_token(user, code) is None:
        otp_failure(request, username=user.get_username())
        return "That code is not valid (or a recovery code already used)."
    return None


def second_factor_reset(*, user) -> None:
    """After ``user``'s authenticator was deleted (a lost phone): end their
    sessions and revoke their API tokens, so that only someone who logs in
    with the password again, and sets up a new authenticator, gets in."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from perform.api_tokens import api_tokens_revoke

    api_tokens_revoke(user_id=user.pk, why="second factor reset")
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now())
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
