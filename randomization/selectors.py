"""Reads of randomization data, with the role rules of PROTOCOL §5.

* ``allocation_shown_to`` is the one function through which any page, API,
  export or e-mail shows a participant's arm: the participant must be in the
  user's site scope and the user must hold ``view_allocation``.
* ``block_data_shown_to`` is the one rule for within-stratum sequence numbers
  and anything derived from block structure (the convergence-guessing rate):
  statisticians only (``manage_lists``). For everyone else an
  ``AllocationView`` carries ``sequence=None`` and every page, PDF, CSV and
  API answer leaves the number out.
* ``log_arms_shown_to``: the randomization log names the arm only to roles
  holding ``view_log_arms`` (data manager, statistician), so the randomizer
  cannot read every stratum's running balance off it.
* The randomization log and balance show *used* slots only.
* Unused slots, block numbers and block sizes are read only by the list
  management selectors and the statistician's part of the balance, which
  require ``manage_lists`` (statisticians).
* ``randomization_dates`` is the one definition of a participant's date of
  randomization (no arm, no block data), for the floors above: the forms'
  rules, the visit schedule's inputs and the DSMB derivation.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from perform.models import Participant, ParticipantStatus
from perform.selectors import participants_for
from randomization import concealment, strata
from randomization.models import AllocationList, ListEvent, Slot, Stratum


@dataclass(frozen=True)
class AllocationView:
    """What may be shown of an allocation once made (never block data).

    ``sequence`` (the allocation's number within its stratum) is ``None``
    unless the user may see block data; ``arm`` and ``arm_label`` are ``None``
    in a randomization log read by a role that may not see arms there.
    """

    study_id: str
    arm: str | None
    arm_label: str | None
    stratum: str
    stratum_label: str
    sequence: int | None
    randomized_at: datetime.datetime
    randomized_by: str
    site: str = ""
    site_time_zone: str = "UTC"


def block_data_shown_to(user) -> bool:
    """Whether ``user`` may see within-stratum sequence numbers and anything
    derived from block structure: with blocks of 2, 4 and 6 the number tells
    where a block may end, and so the next arm, most of the time."""
    return user.has_perm("randomization.manage_lists")


def log_arms_shown_to(user) -> bool:
    """Whether the randomization log (page and CSV) shows ``user`` the arms."""
    return user.has_perm("randomization.view_log_arms")


def _view(slot: Slot, *, show_arm: bool, show_sequence: bool) -> AllocationView:
    allocation_list = slot.stratum.allocation_list
    return AllocationView(
        study_id=slot.participant.study_id,
        arm=slot.arm if show_arm else None,
        arm_label=allocation_list.arm_label(slot.arm) if show_arm else None,
        stratum=slot.stratum.key,
        stratum_label=strata.stratum_label(slot.stratum.levels),
        sequence=slot.sequence if show_sequence else None,
        randomized_at=slot.allocated_at,
        randomized_by=slot.allocated_by.get_username() if slot.allocated_by else "",
        site=slot.participant.site.code,
        site_time_zone=slot.participant.site.time_zone,
    )


def participant_allocation_panel(user, participant) -> dict:
    """The allocation section of the participant page (``perform.panels``):
    the allocation as ``user`` may see it, and whether they may randomize now."""
    allocation = allocation_shown_to(user, participant)
    return {
        "allocation": allocation,
        "can_randomize": allocation is None
        and participant.status == ParticipantStatus.CONSENTED
        and user.has_perms(
            ["randomization.randomize_participant", "randomization.view_allocation"]
        ),
    }


def allocation_shown_to(user, participant: Participant) -> AllocationView | None:
    """The participant's allocation if ``user`` may see it, else ``None``.

    The arm is always part of it (PROTOCOL §5: revealed to the site when
    made); the sequence number only if ``block_data_shown_to(user)``.
    """
    if not user.has_perm("randomization.view_allocation"):
        return None
    slot = (
        Slot.objects.filter(
            participant=participant, participant__in=participants_for(user)
        )
        .select_related("stratum__allocation_list", "allocated_by", "participant__site")
        .first()
    )
    if slot is None or not _arm_shown_to(user, slot):
        return None
    return _view(slot, show_arm=True, show_sequence=block_data_shown_to(user))


def every_arm_shown_to(user) -> bool:
    """Whether ``user`` sees the arm of every allocation in their scope: site
    staff (surgery needs them) and the roles that see the balance
    (``view_log_arms``); not the randomizer (``_arm_shown_to``)."""
    return log_arms_shown_to(user) or not user.has_perm("perform.view_all_sites")


def _arm_shown_to(user, slot: Slot) -> bool:
    """Site staff see their participants' arms (surgery needs them), and so
    do the roles that see the balance (``view_log_arms``). A Methods Centre
    role without it, the randomizer, sees the arm of the allocations it made
    itself, for ``RANDOMIZATION["RANDOMIZER_SEES_ARM_HOURS"]`` (to pass it on,
    as PROTOCOL §5 e-mails it): not every arm of every stratum, one page after
    another, which is the running balance the log withholds."""
    if every_arm_shown_to(user):
        return True
    hours = settings.RANDOMIZATION["RANDOMIZER_SEES_ARM_HOURS"]
    return slot.allocated_by_id == user.pk and (
        slot.allocated_at >= timezone.now() - datetime.timedelta(hours=hours)
    )


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
    """The log's rows: arms only for ``log_arms_shown_to(user)``, sequence
    numbers only for ``block_data_shown_to(user)``."""
    qs = allocations_for(user)
    if site_code:
        qs = qs.filter(participant__site__code=site_code.upper())
    show_arm, show_sequence = log_arms_shown_to(user), block_data_shown_to(user)
    return [_view(slot, show_arm=show_arm, show_sequence=show_sequence) for slot in qs]


def randomization_dates(
    participants: QuerySet[Participant],
) -> dict[int, datetime.date]:
    """Participant id → date of randomization, for the randomized ones among
    ``participants`` (one query).

    The one definition of the date, for every reader (the forms' rules, the
    visit schedule's inputs, the DSMB derivation's time zero): the calendar
    date at the participant's site at the moment the slot was allocated, so a
    participant randomized at 21:00 in Toronto was randomized that day, not
    the next (UTC) one.
    """
    rows = Slot.objects.filter(
        participant__in=participants, allocated_at__isnull=False
    ).values_list("participant_id", "allocated_at", "participant__site__time_zone")
    return {
        pid: allocated_at.astimezone(ZoneInfo(zone)).date()
        for pid, allocated_at, zone in rows
    }


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
    # Statisticians only (derived from block structure): see ``concealment``.
    guessing: concealment.GuessingRate | None = None


def stratum_balance(user) -> list[StratumBalance]:
    """Per stratum of the active list: allocations by arm, current and largest
    running imbalance, unused slots left, and when the stratum would run out at
    its recruitment rate so far. For users who may see block data
    (``block_data_shown_to``) also the convergence-guessing rate, observed and
    expected for the stratum's blocks; for everyone else ``guessing`` is
    ``None`` and block data are not read.

    Runs a fixed number of queries however many strata and slots there are.
    """
    if not user.has_perm("randomization.view_balance"):
        raise PermissionDenied("You may not see the randomization balance.")
    allocation_list = active_list()
    if allocation_list is None:
        return []

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
    show_guessing = block_data_shown_to(user)
    running: dict[int, int] = defaultdict(int)
    worst: dict[int, int] = defaultdict(int)
    used_by_stratum: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    used = (
        Slot.objects.filter(
            stratum__allocation_list=allocation_list, participant__isnull=False
        )
        .order_by("stratum_id", "sequence")
        .values_list(
            "stratum_id",
            "arm",
            *(("block_number", "block_size") if show_guessing else ()),
        )
    )
    first_arm = arms[0]
    for stratum_id, arm, *block in used.iterator(2000):
        running[stratum_id] += 1 if arm == first_arm else -1
        worst[stratum_id] = max(worst[stratum_id], abs(running[stratum_id]))
        if show_guessing:
            used_by_stratum[stratum_id].append((arm, *block))
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
                guessing=concealment.stratum_guessing_rate(
                    used_by_stratum[row.pk], arms=arms, ratio=allocation_list.ratio
                )
                if show_guessing
                else None,
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
