"""Reads of CRF data, always through the site-scoped participant selector."""

import datetime
from zoneinfo import ZoneInfo

from crf.models import Death, FollowUp, FormStatus, Operative, Withdrawal
from crf.rules import ClinicalContext
from crf.schedule import VisitState, site_today, visit_schedule
from perform.models import Participant
from randomization.models import Slot


def participant_clinical_context(
    participant: Participant, *, now: datetime.datetime | None = None
) -> ClinicalContext:
    """Dates other forms have recorded, and the visit windows, for the rules."""
    today = site_today(participant.site.time_zone, now=now)
    slot = Slot.objects.filter(participant=participant).values("allocated_at").first()
    randomization_date = (
        slot["allocated_at"].astimezone(ZoneInfo(participant.site.time_zone)).date()
        if slot
        else None
    )
    surgery_date = (
        Operative.objects.filter(participant=participant)
        .values_list("surgery_date", flat=True)
        .first()
    )
    death_date = (
        Death.objects.filter(participant=participant)
        .values_list("death_date", flat=True)
        .first()
    )
    visits = {}
    if surgery_date:
        visits = {
            v.code: v
            for v in participant_schedule(
                participant, surgery_date=surgery_date, today=today
            )
        }
    return ClinicalContext(
        screening_date=participant.screening_date,
        today=today,
        randomization_date=randomization_date,
        surgery_date=surgery_date,
        death_date=death_date,
        visits=visits,
    )


def participant_schedule(
    participant: Participant,
    *,
    surgery_date: datetime.date | None = None,
    today: datetime.date | None = None,
) -> list[VisitState]:
    """The participant's visits (PROTOCOL §6); empty until surgery is recorded.

    A follow-up counts as done when complete (or signed) with a visit date,
    missed when complete with a missed reason. Death or withdrawal ends it.
    """
    if surgery_date is None:
        surgery_date = (
            Operative.objects.filter(participant=participant)
            .values_list("surgery_date", flat=True)
            .first()
        )
    if surgery_date is None:
        return []
    today = today or site_today(participant.site.time_zone)
    done, missed = {}, {}
    follow_ups = FollowUp.objects.filter(
        participant=participant, status__in=[FormStatus.COMPLETE, FormStatus.SIGNED]
    ).values("visit", "visit_date", "missed_reason")
    for row in follow_ups:
        if row["visit_date"]:
            done[row["visit"]] = row["visit_date"]
        elif row["missed_reason"]:
            missed[row["visit"]] = row["missed_reason"]
    ended = [
        d
        for d in (
            Death.objects.filter(participant=participant)
            .values_list("death_date", flat=True)
            .first(),
            Withdrawal.objects.filter(participant=participant)
            .values_list("withdrawal_date", flat=True)
            .first(),
        )
        if d
    ]
    return visit_schedule(
        surgery_date=surgery_date,
        today=today,
        done=done,
        missed=missed,
        ended_on=min(ended) if ended else None,
    )
