"""Who may grant which role to whom (PROTOCOL §2, §12): separation of duties.

One rule (``role_change_refusal``) decides every grant and revocation, whatever
asks: the role pages, the Django admin (which shows roles read-only and links
here) and anything written later. ``role_change`` is the one service that
changes a user's roles, site access, staff or superuser status, and it writes
the ``RoleChange`` row (who, whom, what, site, when, why) in the same
transaction; pghistory also records the membership rows themselves.

The rules:

* nobody changes their own roles, sites or status, the system owner included;
* the **system owner** (an active superuser, kept for this and not for daily
  work) grants and revokes everything else, and alone grants the unblinded
  roles (statistician, DSMB member), the administrator role, staff status
  (the Django admin) and superuser status;
* the **data manager** (``perform.manage_roles``) grants and revokes site
  access and the blinded roles (site coordinator and investigator, data
  manager, randomizer), and only on accounts that are not privileged: an
  account that holds a Methods Centre, DSMB or administrator role, staff or
  superuser status is managed by the system owner alone (its e-mail, password
  and roles), so nobody can take over a colleague's account to act in its name;
* the safety-contact flag (who receives every expedited SAE alert) is granted
  like a blinded role, with a reason, never ticked in the admin;
* everyone else changes nothing.

Accounts are opened without a password anyone knows: the holder receives a
link to choose one (``account_password_link_send``), and nobody, the system
owner included, sets another person's password. A changed e-mail address is
reported to the old one.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from infrastructure.outbox import Email, emails_queue
from perform import roles
from perform.exceptions import TrialError
from perform.models import RoleChange, Site, SiteMembership, User
from perform.services import audit_context

# Pseudo-roles: what RoleChange.role records besides group names.
SITE_ACCESS = "Site access"
STAFF_STATUS = "Staff status (Django admin)"
SYSTEM_OWNER = "System owner (superuser)"
SAFETY_CONTACT = "Safety contact (expedited alerts)"
STATUSES = {
    STAFF_STATUS: "is_staff",
    SYSTEM_OWNER: "is_superuser",
    SAFETY_CONTACT: "safety_contact",
}
# Granted by the system owner alone, like the unblinded roles.
OWNER_GRANTED_STATUSES = {STAFF_STATUS, SYSTEM_OWNER}


class RoleChangeRefused(TrialError):
    code = "role_change_refused"


def is_system_owner(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def account_is_privileged(user: User) -> bool:
    """Staff, superuser, or holding a role only the system owner manages.

    Reads ``user.groups.all()``, so a list of accounts prefetched with their
    groups asks no query per account."""
    if user.is_staff or user.is_superuser:
        return True
    return any(group.name in roles.PRIVILEGED_ROLES for group in user.groups.all())


def account_manageable_by(actor, user: User) -> bool:
    """Whether ``actor`` may change ``user``'s account (details, password,
    roles): never their own; the system owner any other; the data manager and
    the administrator accounts that are not privileged."""
    if not actor.is_authenticated or actor.pk == user.pk:
        return False
    if is_system_owner(actor):
        return True
    if not (
        actor.has_perm("perform.manage_roles") or actor.has_perm("perform.change_user")
    ):
        return False
    return not account_is_privileged(user)


def role_change_refusal(*, actor, user: User, role: str) -> str | None:
    """Why ``actor`` may not grant or revoke ``role`` for ``user``; None if they
    may. The one rule behind every page, form and service."""
    if not actor.is_authenticated or not actor.is_active:
        return "You must be logged in to change roles."
    if actor.pk == user.pk:
        return (
            "Nobody can change their own roles, sites or status; ask the data "
            "manager or the system owner."
        )
    if is_system_owner(actor):
        return None
    if role in OWNER_GRANTED_STATUSES or role in roles.OWNER_GRANTED_ROLES:
        return f"Only the system owner grants or revokes “{role}”."
    if not actor.has_perm("perform.manage_roles"):
        return "You may not grant or revoke roles."
    if account_is_privileged(user):
        return (
            f"{user.get_username()} holds a Methods Centre, DSMB or administrator "
            "role or staff status: only the system owner changes that account."
        )
    return None


def grantable_roles(*, actor, user: User) -> list[str]:
    """The roles and statuses ``actor`` may grant or revoke for ``user``."""
    candidates = [*roles.ROLE_PERMISSIONS, SITE_ACCESS, *STATUSES]
    return [
        role
        for role in candidates
        if role_change_refusal(actor=actor, user=user, role=role) is None
    ]


def _holds(user: User, role: str, site: Site | None) -> bool:
    if role == SITE_ACCESS:
        return SiteMembership.objects.filter(user=user, site=site).exists()
    if role in STATUSES:
        return getattr(user, STATUSES[role])
    return user.groups.filter(name=role).exists()


@transaction.atomic
def role_change(
    *,
    actor: User,
    user: User,
    action: str,
    role: str,
    reason: str,
    site: Site | None = None,
) -> RoleChange:
    """Grant or revoke ``role`` (a role name, ``SITE_ACCESS`` with ``site``,
    ``STAFF_STATUS`` or ``SYSTEM_OWNER``) for ``user``, with the reason.

    Raises ``RoleChangeRefused`` when the rule forbids it or nothing would
    change. Revoking a user's last site keeps their site roles (they then see
    no participant until given a site again).
    """
    reason = (reason or "").strip()
    if action not in RoleChange.Action.values:
        raise RoleChangeRefused("Choose grant or revoke.", field="action")
    known = [*roles.ROLE_PERMISSIONS, SITE_ACCESS, *STATUSES]
    if role not in known:
        raise RoleChangeRefused(f"Unknown role “{role}”.", field="role")
    if role == SITE_ACCESS and site is None:
        raise RoleChangeRefused("Choose the site.", field="site")
    if role != SITE_ACCESS:
        site = None
    if not reason:
        raise RoleChangeRefused(
            "Give the reason for this change (it is kept in the role history).",
            field="reason",
        )
    # Lock the account: two administrators changing it at once are serialized.
    user = User.objects.select_for_update().get(pk=user.pk)
    refusal = role_change_refusal(actor=actor, user=user, role=role)
    if refusal:
        raise RoleChangeRefused(refusal)
    grant = action == RoleChange.Action.GRANT
    if _holds(user, role, site) == grant:
        where = f" at {site.code}" if site else ""
        state = "already holds" if grant else "does not hold"
        raise RoleChangeRefused(f"{user.get_username()} {state} “{role}”{where}.")
    with audit_context(actor=actor, reason=reason):
        if role == SITE_ACCESS:
            if grant:
                SiteMembership.objects.create(user=user, site=site)
            else:
                SiteMembership.objects.filter(user=user, site=site).delete()
        elif role in STATUSES:
            setattr(user, STATUSES[role], grant)
            user.save(update_fields=[STATUSES[role]])
        else:
            group = Group.objects.get(name=role)
            (user.groups.add if grant else user.groups.remove)(group)
        return RoleChange.objects.create(
            actor=actor, user=user, action=action, role=role, site=site, reason=reason
        )


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountRoles:
    user: User
    roles: list[str]
    sites: list[str]
    statuses: list[str]
    manageable: bool


def accounts_for_role_admin(*, actor, search: str = "") -> list[AccountRoles]:
    """Every account with its roles, sites and statuses (for those who may
    manage roles or read their history)."""
    users = User.objects.prefetch_related("groups", "sites").order_by("username")
    if search:
        users = users.filter(username__icontains=search) | users.filter(
            last_name__icontains=search
        )
    return [account_roles(actor=actor, user=user) for user in users]


def account_roles(*, actor, user: User) -> AccountRoles:
    return AccountRoles(
        user=user,
        roles=sorted(group.name for group in user.groups.all()),
        sites=sorted(site.code for site in user.sites.all()),
        statuses=[name for name, field in STATUSES.items() if getattr(user, field)],
        manageable=account_manageable_by(actor, user),
    )


def role_history(*, user: User | None = None):
    """Grants and revocations, newest first (optionally of one user)."""
    changes = RoleChange.objects.select_related("actor", "user", "site")
    if user is not None:
        changes = changes.filter(user=user)
    return changes


# ---------------------------------------------------------------------------
# Accounts: passwords only their holders know; e-mail changes reported
# ---------------------------------------------------------------------------
# Outbox kinds of the e-mails carrying a password link.
PASSWORD_RESET_KIND = "password_reset"  # noqa: S105 - a kind, not a password
ACCOUNT_CREATED_KIND = "account_created"


def account_password_prepare(user: User) -> None:
    """A new account's password: random and never shown, so that only the
    holder, through the link ``account_password_link_send`` e-mails, ever
    knows a password of theirs (an unusable password would refuse the link)."""
    user.set_password(secrets.token_urlsafe(32))


def account_password_link_send(*, user: User, new_account: bool) -> None:
    """E-mail ``user`` a link to choose their password (Django's reset token,
    valid ``PASSWORD_RESET_TIMEOUT``) through the outbox, sent once the current
    transaction commits."""
    if not user.email or not user.is_active:
        return
    prefix = (
        "registration/account_created" if new_account else "registration/password_reset"
    )
    password_link_queue(
        kind=ACCOUNT_CREATED_KIND if new_account else PASSWORD_RESET_KIND,
        user=user,
        to_email=user.email,
        context={
            "email": user.email,
            "user": user,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
        subject_template=f"{prefix}_subject.txt",
        text_template=(
            f"{prefix}_email.txt" if new_account else f"{prefix}_email.html"
        ),
    )


def password_link_queue(
    *,
    kind: str,
    user: User,
    to_email: str,
    context: dict,
    subject_template: str,
    text_template: str,
    html_template: str | None = None,
) -> str:
    """Write the e-mail carrying ``user``'s password link to the outbox (sent
    once the current transaction commits); return its key.

    The key, ``password-reset:<user id>:<random>`` (``account-created:...``
    for a new account), is new on every call, unlike the outbox's other keys:
    those name one decision (this allocation, this event) that must be told
    once however often it is taken, whereas each request for a link mints a
    new token, and whoever asks again (the first e-mail lost, its link
    expired) must get the new link. There is no repeated decision to collapse.
    The token's own value cannot serve as the key either: the key is shown on
    the e-mail log, and anyone reading a token there could use it.

    The row holds the link, a live credential: it is marked
    ``holds_credential``, so its body is shown to no one and is erased once sent
    (or failed).
    Links are built from ``SITE_URL``, never from a request's Host header.
    """
    site = urlsplit(settings.SITE_URL)
    context = {**context, "protocol": site.scheme, "domain": site.netloc}
    subject = "".join(render_to_string(subject_template, context).splitlines())
    key = f"{kind.replace('_', '-')}:{user.pk}:{uuid.uuid4().hex}"
    emails_queue(
        [
            Email(
                key=key,
                kind=kind,
                to=[to_email],
                subject=subject,
                body_text=render_to_string(text_template, context),
                body_html=(
                    render_to_string(html_template, context) if html_template else ""
                ),
                holds_credential=True,
            )
        ]
    )
    return key


def account_email_change_notify(*, actor: User, user: User, old_email: str) -> None:
    """Tell the old address that the account's e-mail was changed (reset
    links go to the new one: an unexpected change is a take-over attempt)."""
    if not old_email or old_email == user.email:
        return
    when = timezone.now()
    emails_queue(
        [
            Email(
                key=f"email-changed:{user.pk}:{when.isoformat()}",
                kind="account_email_changed",
                to=[old_email],
                subject="PERFORM trial platform: your e-mail address was changed",
                body_text=render_to_string(
                    "registration/email_changed.txt",
                    {
                        "user": user,
                        "new_email": user.email,
                        "actor": actor.get_username(),
                        "when": when,
                    },
                ),
            )
        ]
    )
