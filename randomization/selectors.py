"""Reads of randomization data, with the role rules of PROTOCOL §5.

* ``allocation_shown_to`` is the one function through which any page, API,
  export or e-mail shows a participant's arm: the participant must be in the
  user's site scope and the user must hold ``view_allocation``.
* The randomization log and balance show *used* slots only.
* Unused slots, block numbers and block sizes are read only by the list
  management selectors, which require ``manage_lists`` (statisticians).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from perform.models import Participant
from perform.selectors import participants_for
from randomization import strata
from randomization.models import AllocationList, ListEvent, Slot, Stratum


@dataclass(frozen=True)
class AllocationView:
    """What may be shown of an allocation once made (never block data)."""

    study_id: str
    arm: str
    arm_label: str
    stratum: str
    stratum_label: str
    sequence: int
    randomized_at: datetime.datetime
    randomized_by: str
    site: str = ""
    site_time_zone: str = "UTC"


def _view(slot: Slot) -> AllocationView:
    allocation_list = slot.stratum.allocation_list
    return AllocationView(
        study_id=slot.participant.study_id,
        arm=slot.arm,
        arm_label=allocation_list.arm_label(slot.arm),
        stratum=slot.stratum.key,
        stratum_label=strata.stratum_label(slot.stratum.levels),
        sequence=slot.sequence,
        randomized_at=slot.allocated_at,
        randomized_by=slot.allocated_by.get_username() if slot.allocated_by else "",
        site=slot.participant.site.code,
        site_time_zone=slot.participant.site.time_zone,
    )


def allocation_shown_to(user, participant: Participant) -> AllocationView | None:
    """The participant's allocation if ``user`` may see it, else ``None``."""
    if not user.has_perm("randomization.view_allocation"):
        return None
    slot = (
        Slot.objects.filter(
            participant=participant, participant__in=participants_for(user)
        )
        .select_related("stratum__allocation_list", "allocated_by", "participant__site")
        .first()
    )
    return _view(slot) if slot else None


def allocations_for(user) -> QuerySet[Slot]:
    """Used slots of participants in ``user``'s scope (the randomization log)."""
    if not user.has_perm("randomization.view_randomization_log"):
        raise PermissionDenied("You may not see the randomization log.")
    return (
        Slot.objects.filter(participant__in=participants_for(user))
        .select_related("participant__site", "stratum__allocation_list", "allocated_by")
        .order_by("-allocated_at", "-id")
    )


def randomization_log(user, *, site_code: str | None = None) -> list[AllocationView]:
    qs = allocations_for(user)
    if site_code:
        qs = qs.filter(participant__site__code=site_code.upper())
    return [_view(slot) for slot in qs]


def active_list() -> AllocationList | None:
    return AllocationList.objects.filter(status=AllocationList.Status.ACTIVE).first()


@dataclass(frozen=True)
class StratumBalance:
    key: str
    label: str
    counts: dict[str, int]
    allocated: int
    imbalance: int
    max_imbalance: int
    slots_left: int
    first_at: datetime.datetime | None
    projected_exhaustion: datetime.date | None
    low: bool


def stratum_balance(user) -> list[StratumBalance]:
    """Per stratum of the active list: allocations by arm, current and largest
    running imbalance, unused slots left, and when the stratum would run out at
    its recruitment rate so far. Block data are not shown.

    Runs a fixed number of queries however many strata and slots there are.
    """
    if not user.has_perm("randomization.view_balance"):
        raise PermissionDenied("You may not see the randomization balance.")
    allocation_list = active_list()
    if allocation_list is None:
        return []
    from django.conf import settings

    arms = allocation_list.arm_codes
    rows = (
        Stratum.objects.filter(allocation_list=allocation_list)
        .annotate(
            total=Count("slots"),
            allocated=Count("slots", filter=Q(slots__participant__isnull=False)),
            first_at=Min("slots__allocated_at"),
            last_at=Max("slots__allocated_at"),
            **{
                f"n_{arm}": Count(
                    "slots", filter=Q(slots__participant__isnull=False, slots__arm=arm)
                )
                for arm in arms
            },
        )
        .order_by("key")
    )
    # Running imbalance over used slots, in sequence order (one query).
    running: dict[int, int] = defaultdict(int)
    worst: dict[int, int] = defaultdict(int)
    used = (
        Slot.objects.filter(
            stratum__allocation_list=allocation_list, participant__isnull=False
        )
        .order_by("stratum_id", "sequence")
        .values_list("stratum_id", "arm")
    )
    first_arm = arms[0]
    for stratum_id, arm in used.iterator(2000):
        running[stratum_id] += 1 if arm == first_arm else -1
        worst[stratum_id] = max(worst[stratum_id], abs(running[stratum_id]))
    today = timezone.now()
    low_mark = settings.RANDOMIZATION["LOW_SLOTS_WARNING"]
    result = []
    for row in rows:
        left = row.total - row.allocated
        projected = None
        if row.allocated and row.first_at:
            days = max((today - row.first_at).days, 1)
            per_day = row.allocated / days
            projected = (today + datetime.timedelta(days=left / per_day)).date()
        result.append(
            StratumBalance(
                key=row.key,
                label=strata.stratum_label(row.levels),
                counts={arm: getattr(row, f"n_{arm}") for arm in arms},
                allocated=row.allocated,
                imbalance=running[row.pk],
                max_imbalance=worst[row.pk],
                slots_left=left,
                first_at=row.first_at,
                projected_exhaustion=projected,
                low=left <= low_mark,
            )
        )
    return result


# ---------------------------------------------------------------------------
# Statisticians only: list contents
# ---------------------------------------------------------------------------
def _require_statistician(user) -> None:
    if not user.has_perm("randomization.manage_lists"):
        raise PermissionDenied("Only statisticians see allocation lists.")


def lists_for(user) -> QuerySet[AllocationList]:
    _require_statistician(user)
    return AllocationList.objects.annotate(
        n_strata=Count("strata", distinct=True)
    ).select_related("created_by", "activated_by")


def list_detail(user, list_id: int) -> AllocationList:
    _require_statistician(user)
    return AllocationList.objects.select_related("created_by", "activated_by").get(
        pk=list_id
    )


def list_strata_summary(user, allocation_list: AllocationList) -> list[dict]:
    _require_statistician(user)
    return list(
        Stratum.objects.filter(allocation_list=allocation_list)
        .annotate(
            total=Count("slots"),
            used=Count("slots", filter=Q(slots__participant__isnull=False)),
            blocks=Count("slots__block_number", distinct=True),
        )
        .values("key", "total", "used", "blocks")
        .order_by("key")
    )


def list_events(user, allocation_list: AllocationList) -> QuerySet[ListEvent]:
    _require_statistician(user)
    return allocation_list.list_events.select_related("by").order_by("at", "id")


def list_slots_for_export(user, allocation_list: AllocationList):
    """Every slot (used or not) for the CSV export: statisticians only."""
    _require_statistician(user)
    return (
        Slot.objects.filter(stratum__allocation_list=allocation_list)
        .select_related("stratum", "participant")
        .order_by("stratum__key", "sequence")
    )
