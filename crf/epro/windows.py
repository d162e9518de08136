"""When a participant's questionnaires of a visit may be answered (PROTOCOL §13):
the one rule, for the survey pages, the clinic tablet, the invitation and
reminder sweep and the participant page.

A follow-up visit's questionnaires open on the first day of the visit's window
and close after its last day (the site's calendar, ``crf.schedule.visits``):
no back-filling. They close early when the response is submitted, when the
participant's follow-up has ended (a complete Death or Withdrawal form, or the
participant's status says died, withdrawn or lost), when the site recorded the
visit as missed, and when the Methods Centre locked the visit's form.

The baseline questionnaires ("bl") open at consent and close after the day of
surgery (PROTOCOL §13: at baseline; they describe the patient before the
operation). They are answered on the clinic tablet or on paper; no link is
sent for them (the patient is in clinic at consent).
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.models import Baseline, FollowUp, PromResponse
from crf.schedule.inputs import participant_schedule_inputs
from crf.schedule.visits import visit_labels
from perform.models import ConsentRecord, Participant, ParticipantStatus

OPEN = ""
NOT_YET = "not_yet"
CLOSED = "closed"
SUBMITTED = "submitted"
ENDED = "ended"
MISSED = "missed"
LOCKED = "locked"
NO_WINDOW = "no_window"

# What the participant reads when the questionnaires are not open (the
# survey pages show it; the reason codes are for staff and tests).
MESSAGES = {
    NOT_YET: _("These questionnaires are not open yet."),
    CLOSED: _("The time to answer these questionnaires has passed."),
    SUBMITTED: _("These questionnaires have been answered. Thank you."),
    ENDED: _("These questionnaires are closed."),
    MISSED: _("These questionnaires are closed."),
    LOCKED: _("These questionnaires are closed."),
    NO_WINDOW: _("These questionnaires are not open."),
}

ENDED_STATUSES = (
    ParticipantStatus.DIED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.LOST_TO_FOLLOW_UP,
)


def baseline_visit() -> str:
    return settings.EPRO["BASELINE_VISIT"]


def survey_visit_labels() -> dict[str, str]:
    """Visit code → label of every visit with questionnaires, baseline first."""
    return {baseline_visit(): "Baseline", **visit_labels()}


@dataclass(frozen=True)
class SurveyWindow:
    visit: str
    window_start: datetime.date | None
    window_end: datetime.date | None
    today: datetime.date
    closed_reason: str

    @property
    def is_open(self) -> bool:
        return self.closed_reason == OPEN

    @property
    def message(self) -> str:
        return str(MESSAGES.get(self.closed_reason, ""))


def survey_closed_reason(
    *,
    today: datetime.date,
    window_start: datetime.date | None,
    window_end: datetime.date | None,
    ended_on: datetime.date | None = None,
    status: str = "",
    missed: bool = False,
    submitted: bool = False,
    locked: bool = False,
) -> str:
    """Why the questionnaires are closed today, or ``OPEN`` (""): the rule.

    ``window_end`` None: open-ended (a baseline before surgery is recorded).
    """
    if submitted:
        return SUBMITTED
    # A window that had closed says so, whatever happened later (a visit a
    # year before death closed because its time passed, not because of it).
    if window_end is not None and today > window_end:
        return CLOSED
    if status in ENDED_STATUSES or (ended_on is not None and ended_on <= today):
        return ENDED
    if window_start is None:
        return NO_WINDOW
    if missed:
        return MISSED
    if locked:
        return LOCKED
    if today < window_start:
        return NOT_YET
    if window_end is not None and today > window_end:
        return CLOSED
    return OPEN


def survey_window(
    participant: Participant, visit: str, *, now: datetime.datetime | None = None
) -> SurveyWindow:
    """The questionnaires of ``participant`` at ``visit`` (a follow-up visit's
    code, or the baseline's), as of ``now`` (default: the current time)."""
    return survey_windows(participant, visits=[visit], now=now)[visit]


def survey_windows(
    participant: Participant,
    *,
    visits: list[str] | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, SurveyWindow]:
    """``survey_window`` of each of ``visits`` (default: every visit with
    questionnaires, baseline first), in a fixed number of queries however
    many visits (the participant page shows them all)."""
    now = now or timezone.now()
    visits = list(survey_visit_labels()) if visits is None else visits
    inputs = participant_schedule_inputs(participant, now=now)
    submitted = set(
        PromResponse.objects.filter(
            participant=participant,
            visit__in=visits,
            status=PromResponse.Status.SUBMITTED,
        ).values_list("visit", flat=True)
    )
    status = (
        Participant.objects.filter(pk=participant.pk)
        .values_list("status", flat=True)
        .get()
    )
    follow_ups = [v for v in visits if v != baseline_visit()]
    locked = set(
        FollowUp.objects.filter(
            participant=participant, visit__in=follow_ups, locked=True
        ).values_list("visit", flat=True)
    )
    schedule = {s.code: s for s in inputs.schedule()} if follow_ups else {}
    windows = {}
    for visit in visits:
        if visit == baseline_visit():
            consent = (
                ConsentRecord.objects.filter(
                    participant=participant, decision=ConsentRecord.Decision.GIVEN
                )
                .order_by("decision_date")
                .values_list("decision_date", flat=True)
                .first()
            )
            is_locked = Baseline.objects.filter(
                participant=participant, locked=True
            ).exists()
            start, end = consent, inputs.surgery_date
            missed = False
        else:
            state = schedule.get(visit)
            start = state.window_start if state else None
            end = state.window_end if state else None
            missed = bool(state and state.missed_reason)
            is_locked = visit in locked
        reason = survey_closed_reason(
            today=inputs.today,
            window_start=start,
            window_end=end,
            ended_on=inputs.ended_on,
            status=status,
            missed=missed,
            submitted=visit in submitted,
            locked=is_locked,
        )
        windows[visit] = SurveyWindow(visit, start, end, inputs.today, reason)
    return windows


# Where ``page_survey_windows`` keeps its read on the participant object.
_PAGE_ATTRIBUTE = "_page_survey_windows"


def page_survey_windows(participant: Participant) -> dict[str, SurveyWindow]:
    """``survey_windows`` of every visit, read once for the participant page.

    The page's panels (the tablet button, the questionnaires section) each
    need the windows; reading them once saves a dozen queries a page. The read
    is kept on the participant object, which the page's view fetched for this
    request and throws away after rendering it; nothing that changes data
    calls this (they call ``survey_window``, which always reads afresh).
    """
    cached = participant.__dict__.get(_PAGE_ATTRIBUTE)
    if cached is None:
        cached = survey_windows(participant)
        participant.__dict__[_PAGE_ATTRIBUTE] = cached
    return cached
