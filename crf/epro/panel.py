"""The questionnaires section of the participant page (``perform.panels``,
registered by ``crf.apps``), and its "Contact for questionnaires" button.

Per visit with questionnaires (baseline, then each follow-up): whether they
are open today and why not (``crf.epro.windows.survey_windows``, the one
rule), the invitation (its date, channel and the message's outbox status),
the reminders sent, and the response (mode, who answered, language, start,
submission). Shown to whoever sees the participant's forms (site staff and
the Methods Centre); the contact details in it (address, number, proxy) only
to those ``contact_details_visible`` lets read them. A fixed number of
queries however many visits, invitations and reminders.
"""

from dataclasses import dataclass

from django.db.models import Prefetch
from django.urls import reverse

from crf.epro import windows
from crf.epro.contacts import (
    contact_allowed_for,
    contact_details_visible,
    contact_preference_get,
)
from crf.models import PromResponse, SurveyInvitation, SurveyReminder
from perform.models import Participant, ParticipantStatus

# Staff words for why the questionnaires are closed (windows' reason codes).
WINDOW_STATES = {
    windows.OPEN: "Open",
    windows.NOT_YET: "Not open yet",
    windows.CLOSED: "Closed: window passed",
    windows.SUBMITTED: "Submitted",
    windows.ENDED: "Closed: follow-up ended",
    windows.MISSED: "Closed: visit missed",
    windows.LOCKED: "Closed: form locked",
    windows.NO_WINDOW: "No window yet",
}
# Before consent a participant has no questionnaires to show.
BEFORE_CONSENT = (
    ParticipantStatus.SCREENED,
    ParticipantStatus.INELIGIBLE,
    ParticipantStatus.ELIGIBLE,
    ParticipantStatus.DECLINED,
)


@dataclass(frozen=True)
class EproVisitRow:
    visit: str
    label: str
    window: windows.SurveyWindow
    invitation: SurveyInvitation | None
    reminders: list[SurveyReminder]
    response: PromResponse | None

    @property
    def window_state(self) -> str:
        return WINDOW_STATES.get(self.window.closed_reason, self.window.closed_reason)


def participant_epro_rows(participant: Participant) -> list[EproVisitRow]:
    """One row per visit with questionnaires, baseline first."""
    labels = windows.survey_visit_labels()
    by_visit = windows.page_survey_windows(participant)
    invitations = {
        i.visit: i
        for i in SurveyInvitation.objects.filter(participant=participant)
        .select_related("message")
        .prefetch_related(
            Prefetch(
                "reminders",
                queryset=SurveyReminder.objects.select_related("message").order_by(
                    "number"
                ),
            )
        )
    }
    responses = {
        r.visit: r
        for r in PromResponse.objects.filter(participant=participant).defer(
            "answers", "missing_codes"
        )
    }
    return [
        EproVisitRow(
            visit=visit,
            label=label,
            window=by_visit[visit],
            invitation=invitations.get(visit),
            reminders=list(invitations[visit].reminders.all())
            if visit in invitations
            else [],
            response=responses.get(visit),
        )
        for visit, label in labels.items()
    ]


def participant_epro_panel(user, participant: Participant) -> dict | None:
    """The questionnaires section (``perform.panels``): for users who may
    view forms, once the participant has consented."""
    if not user.has_perm("crf.view_forms") or participant.status in BEFORE_CONSENT:
        return None
    details_visible = contact_details_visible(user, participant)
    return {
        "epro_rows": participant_epro_rows(participant),
        "epro_contact": contact_preference_get(participant=participant),
        "epro_details_visible": details_visible,
        "epro_contact_url": reverse(
            "epro:participant_contact", args=[participant.study_id]
        )
        if details_visible and contact_allowed_for(participant)
        else None,
    }


def participant_contact_button(user, participant: Participant) -> dict | None:
    """The "Contact for questionnaires" button among the participant page's
    actions: for the site's staff, once the participant consented."""
    if not contact_allowed_for(participant):
        return None
    if not contact_details_visible(user, participant):
        return None
    return {
        "epro_contact_button_url": reverse(
            "epro:participant_contact", args=[participant.study_id]
        )
    }
