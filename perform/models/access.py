"""Who may do what, and how they sign in: audited role memberships, the role
history (``RoleChange``) and API tokens (PROTOCOL §12).

Role memberships are audited at the database level (whatever path changes
them: the role page, a shell, raw SQL); the reason and the grantor are in
``RoleChange``. pghistory tracks an auto-created many-to-many table through a
proxy of it, so that its triggers have a migration.
"""

import pghistory
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from knox.models import AbstractAuthToken

from perform.models.core import Site, User


def _audited_membership(through, *, name: str, event: str, label: str, doc: str):
    """A proxy of the many-to-many table ``through`` whose inserts and deletes
    are pghistory events ``<label>.add`` / ``<label>.remove`` in ``event``."""
    proxy = type(
        name,
        (through,),
        {
            "__module__": "perform.models",
            "__doc__": doc,
            "Meta": type("Meta", (), {"proxy": True, "app_label": "perform"}),
        },
    )
    pghistory.track(
        pghistory.InsertEvent(f"{label}.add"),
        pghistory.DeleteEvent(f"{label}.remove"),
        obj_field=None,
        model_name=event,
    )(proxy)
    return proxy


UserGroups = _audited_membership(
    User.groups.through,
    name="UserGroups",
    event="UserGroupEvent",
    label="role",
    doc="Which role groups each user holds.",
)
UserPermissions = _audited_membership(
    User.user_permissions.through,
    name="UserPermissions",
    event="UserPermissionEvent",
    label="permission",
    doc="Permissions given to a user directly (none by design).",
)
GroupPermissions = _audited_membership(
    Group.permissions.through,
    name="GroupPermissions",
    event="GroupPermissionEvent",
    label="group_permission",
    doc="The permissions of each role group (set from perform.roles after "
    "every migrate; audited wherever else they change).",
)


class RoleChange(models.Model):
    """One grant or revocation of a role, of access to a site, or of staff or
    superuser (system owner) status: who, whom, what, when and why (PROTOCOL
    §12). Written by ``perform.role_admin`` in the transaction that makes the
    change; append-only (``settings.AUDIT_LOG_MODELS``)."""

    class Action(models.TextChoices):
        GRANT = "grant", "Granted"
        REVOKE = "revoke", "Revoked"

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="role_changes"
    )
    action = models.CharField(max_length=6, choices=Action.choices)
    # A role (group) name, or one of perform.role_admin's pseudo-roles: site
    # access, staff status, system owner.
    role = models.CharField(max_length=80)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ()
        permissions = [
            (
                "manage_roles",
                "Can grant and revoke site access and blinded roles of others",
            ),
            ("view_role_history", "Can see every grant and revocation of roles"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(actor=models.F("user")), name="role_change_not_own"
            ),
            models.CheckConstraint(
                condition=~Q(reason=""), name="role_change_has_reason"
            ),
        ]

    def __str__(self):
        where = f" at {self.site.code}" if self.site_id else ""
        return (
            f"{self.get_action_display()} {self.role}{where} to {self.user} "
            f"by {self.actor}"
        )


class ApiToken(AbstractAuthToken):
    """An API token of one user for one named client (django-rest-knox).

    Only a SHA-512 digest of the token is stored (and its first characters, to
    find it); the token itself is shown once, when issued. ``expiry`` moves
    forward with use up to the absolute lifetime (``settings.REST_KNOX``).
    Revoked (deleted) on logout, password change, lockout and deactivation:
    ``perform.api_tokens``.
    """

    client = models.CharField(
        max_length=100,
        default="default",
        help_text="Which program uses this token (one token per client).",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "client"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client"], name="one_api_token_per_user_and_client"
            )
        ]

    def __str__(self):
        return f"{self.user} / {self.client} ({self.token_key}…)"
