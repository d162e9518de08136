"""System check: the active allocation list still matches its recorded digest.

Runs with every management command (``runserver``, ``migrate``, ``check``);
a mismatch is an Error, so the server refuses to start on a list that was
changed behind the platform's back.
"""

from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connection


@register("randomization")
def active_list_digest_check(app_configs=None, **kwargs):
    from randomization.models import AllocationList
    from randomization.services import list_verify

    try:
        if AllocationList._meta.db_table not in connection.introspection.table_names():
            return []  # not migrated yet
        active = AllocationList.objects.filter(
            status=AllocationList.Status.ACTIVE
        ).first()
        if active is None:
            return []
        result = list_verify(allocation_list=active)
    except DatabaseError as error:  # database absent or not migrated yet
        return [
            Warning(
                f"Could not verify the active allocation list: {error}",
                id="randomization.W001",
            )
        ]
    if result.matches:
        return []
    return [
        Error(
            f"Allocation list “{active.name}” does not match its recorded digest "
            f"(recorded {result.recorded[:12]}…, computed {result.computed[:12]}…).",
            hint="Someone changed the list outside the platform. Stop randomizing "
            "and ask the trial statistician to investigate.",
            obj=active,
            id="randomization.E001",
        )
    ]
