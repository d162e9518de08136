"""Shared by the randomization services."""

from django.core.exceptions import PermissionDenied

from perform.models import User


def _require(actor: User, perm: str, message: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(message)
