"""What the visit schedule (PROTOCOL §6) is computed from, read in one place.

``schedule_inputs_for(participants)`` gathers, per participant, every input of
``crf.schedule.visits.visit_schedule`` (the site's date today, the surgery
date, the follow-ups done or missed, the end of follow-up by death or
withdrawal) and the randomization date (``randomization.selectors``). Its
readers: the participant pages, the schedule API and the forms' rules
(``crf.forms.selectors``), the automatic data checks
(``crf.queries.automatic``) and the DSMB report's visit table
(``outcomes.inputs``). The SQL schedule of the dashboards and the reminder
sweep (``crf.schedule.sql``) cannot call a Python function per participant;
it joins the querysets below instead, so it reads the very same forms, and
``tests/crf/schedule/test_sql.py`` holds its answer equal to this function's.

Which forms count (the one decision, for every reader):

* **surgery date**: the Operative form's date of surgery, draft or complete;
* **done / missed**: a *complete or signed* follow-up with a visit date / with
  a missed reason;
* **end of follow-up**: a *complete or signed* Death or Withdrawal form (lost
  to follow-up is a kind of withdrawal); with both, the earlier date. A draft
  Death or Withdrawal form does **not** end the schedule.

Why drafts do not end it: a draft is not yet data. It may be half-entered or
opened by mistake, and nothing else treats it as fact: the participant's
status moves to died, withdrawn or lost to follow-up only when the form is
completed (``crf.forms.services``), the DSMB derivation reads complete forms
only (``outcomes.derivation``), and PROTOCOL §7 says so of death. The cost of
an error is also one-sided: a draft that ended the schedule would silently
stop the reminders and the overdue-visit queries of a participant who may
still be in follow-up, while a draft that does not end it at worst keeps a
visit on the site's list until the form is completed. Hence the rule above:
a draft may put visits on the list (a surgery date entered on a draft
operative form starts the schedule, so visits are planned from the day of
surgery), never take them off (a draft follow-up, death or withdrawal removes
nothing).

``as_of`` reads the forms as they stood on a past date, for a report with a
data cut-off: "today" is that date, and forms dated after it (surgery, visit,
death, withdrawal) are left out.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from django.db.models import Q, QuerySet

from crf.models import COMPLETE_STATUSES, Death, FollowUp, Operative, Withdrawal
from crf.schedule.visits import VisitDefinition, VisitState, site_today, visit_schedule
from perform.models import Participant, ParticipantStatus
from randomization.selectors import randomization_dates

# Form statuses that count as entered for the schedule: the follow-ups that
# make a visit done or missed, and the Death and Withdrawal forms that end it.
RECORDED_STATUSES = COMPLETE_STATUSES


def surgeries_recorded() -> QuerySet[Operative]:
    """Operative forms whose surgery date anchors the schedule: any status
    with a date."""
    return Operative.objects.filter(surgery_date__isnull=False)


def follow_ups_recorded() -> QuerySet[FollowUp]:
    """Follow-up forms that make a visit done (visit date) or missed (missed
    reason): complete or signed."""
    return FollowUp.objects.filter(status__in=RECORDED_STATUSES)


def deaths_recorded() -> QuerySet[Death]:
    """Death forms that end follow-up: complete or signed, with a date."""
    return Death.objects.filter(status__in=RECORDED_STATUSES, death_date__isnull=False)


def withdrawals_recorded() -> QuerySet[Withdrawal]:
    """Withdrawal (or lost to follow-up) forms that end follow-up: complete or
    signed, with a date."""
    return Withdrawal.objects.filter(
        status__in=RECORDED_STATUSES, withdrawal_date__isnull=False
    )


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ScheduleInputs:
    """Everything one participant's visit schedule is computed from."""

    participant_id: int
    study_id: str
    site_code: str
    time_zone: str
    today: datetime.date  # at the site (or the ``as_of`` date)
    randomization_date: datetime.date | None = None
    surgery_date: datetime.date | None = None
    operative_id: int | None = None
    done: Mapping[str, datetime.date] = field(default_factory=_frozen)
    missed: Mapping[str, str] = field(default_factory=_frozen)
    death_date: datetime.date | None = None
    withdrawal_date: datetime.date | None = None
    withdrawal_kind: str = ""

    @property
    def ended_on(self) -> datetime.date | None:
        """The date follow-up ended (death or withdrawal, the earlier)."""
        ends = [d for d in (self.death_date, self.withdrawal_date) if d]
        return min(ends) if ends else None

    @property
    def end_reason(self) -> str:
        """The status the end of follow-up stands for (``ParticipantStatus``:
        died, withdrawn, lost to follow-up), or "" while in follow-up."""
        if self.death_date and self.death_date == self.ended_on:
            return ParticipantStatus.DIED
        if self.withdrawal_date:
            return (
                ParticipantStatus.LOST_TO_FOLLOW_UP
                if self.withdrawal_kind == Withdrawal.Kind.LOST
                else ParticipantStatus.WITHDRAWN
            )
        return ""

    def schedule(
        self, *, visits: Sequence[VisitDefinition] | None = None
    ) -> list[VisitState]:
        """The visits with their windows and states; empty before surgery."""
        if self.surgery_date is None:
            return []
        return visit_schedule(
            surgery_date=self.surgery_date,
            today=self.today,
            done=self.done,
            missed=self.missed,
            ended_on=self.ended_on,
            visits=visits,
        )


def schedule_inputs_for(
    participants: QuerySet[Participant],
    *,
    now: datetime.datetime | None = None,
    as_of: datetime.date | None = None,
) -> dict[int, ScheduleInputs]:
    """Participant id → ``ScheduleInputs`` for every participant in
    ``participants``, by the rules of the module docstring. Six queries,
    however many participants.

    "Today" is each site's local date at ``now`` (default: the current time),
    or ``as_of`` when given, which also leaves out forms dated after it.
    """
    scope = participants.order_by().values("pk")

    def read(queryset, date_field=None):
        queryset = queryset.filter(participant_id__in=scope)
        if as_of is not None and date_field:
            queryset = queryset.filter(
                Q(**{f"{date_field}__lte": as_of})
                | Q(**{f"{date_field}__isnull": True})
            )
        return queryset

    surgeries = {
        pid: (pk, day)
        for pid, pk, day in read(surgeries_recorded(), "surgery_date").values_list(
            "participant_id", "pk", "surgery_date"
        )
    }
    done: dict[int, dict] = {}
    missed: dict[int, dict] = {}
    for pid, visit, visit_date, missed_reason in read(
        follow_ups_recorded(), "visit_date"
    ).values_list("participant_id", "visit", "visit_date", "missed_reason"):
        if visit_date:
            done.setdefault(pid, {})[visit] = visit_date
        elif missed_reason:
            missed.setdefault(pid, {})[visit] = missed_reason
    deaths = dict(
        read(deaths_recorded(), "death_date").values_list(
            "participant_id", "death_date"
        )
    )
    withdrawals = {
        pid: (day, kind)
        for pid, day, kind in read(
            withdrawals_recorded(), "withdrawal_date"
        ).values_list("participant_id", "withdrawal_date", "kind")
    }
    randomized = randomization_dates(participants)
    todays: dict[str, datetime.date] = {}
    result = {}
    for pid, study_id, site_code, zone in participants.order_by().values_list(
        "pk", "study_id", "site__code", "site__time_zone"
    ):
        if zone not in todays:
            todays[zone] = as_of or site_today(zone, now=now)
        operative_id, surgery_date = surgeries.get(pid, (None, None))
        withdrawal_date, withdrawal_kind = withdrawals.get(pid, (None, ""))
        result[pid] = ScheduleInputs(
            participant_id=pid,
            study_id=study_id,
            site_code=site_code,
            time_zone=zone,
            today=todays[zone],
            randomization_date=randomized.get(pid),
            surgery_date=surgery_date,
            operative_id=operative_id,
            done=_frozen(done.get(pid)),
            missed=_frozen(missed.get(pid)),
            death_date=deaths.get(pid),
            withdrawal_date=withdrawal_date,
            withdrawal_kind=withdrawal_kind,
        )
    return result


def participant_schedule_inputs(
    participant: Participant, *, now: datetime.datetime | None = None
) -> ScheduleInputs:
    """``schedule_inputs_for`` of one participant."""
    one = Participant.objects.filter(pk=participant.pk)
    return schedule_inputs_for(one, now=now)[participant.pk]
