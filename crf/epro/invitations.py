"""Survey invitations and reminders (PROTOCOL §13): the sweep a worker runs
every hour (beat), writing messages into the outbox.

For every participant who agreed to electronic contact by e-mail or text
message and has not opted out, and every follow-up visit whose questionnaires
are open today (``crf.epro.windows.survey_closed_reason``, the one rule):

* no invitation yet: one is made, with its personal link, and sent;
* an invitation sent on day D and not answered: reminder n (1 … ``EPRO
  ["REMINDER_COUNT"]``) is sent on the first sweep on or after day
  D + n × ``REMINDER_SPACING_DAYS`` (site calendar days). A reminder that
  became due while the sweep did not run is not sent in a burst: at most one
  message per participant and visit per sweep, and never sooner than
  ``REMINDER_SPACING_DAYS`` after the previous one (the sweep runs hourly).

Nothing is sent once the questionnaires are submitted, the window has closed,
the participant died, withdrew or was lost, the visit was recorded as missed,
or the participant opted out.

Exactly once: the sweep holds a PostgreSQL advisory lock in one transaction,
each message's outbox key names its invitation and number, and
``SurveyReminder`` is unique per invitation and number. A sweep killed before
it commits leaves nothing; run again it writes everything once; a message
written but not yet sent is sent by the outbox.

The messages carry the link and the visit's name and closing date, nothing
about the participant (no name, study ID, site or condition); their bodies are
erased from the outbox once sent (``holds_credential``), and the e-mail log
shows no participant's address (``to_participant``).
"""

import datetime
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext

from crf.epro.links import link_for, new_nonce, token_digest, token_for
from crf.epro.windows import OPEN, survey_closed_reason
from crf.models import (
    Channel,
    ContactPreference,
    FollowUp,
    PromResponse,
    SurveyInvitation,
    SurveyReminder,
)
from crf.schedule.inputs import schedule_inputs_for
from infrastructure.outbox import Email, emails_queue
from perform.models import ParticipantStatus
from perform.selectors import participants_for_system

_LOCK_KEY = 8_130_616  # pg_advisory_xact_lock key of the ePRO sweep


@dataclass(frozen=True)
class EproSweepResult:
    invitations: int
    reminders: int


def patient_visit_label(visit: str) -> str:
    """The visit as a participant reads it, in the active language: "6 weeks",
    "4 months" (from the visit code: a number and w or m)."""
    match = re.fullmatch(r"(\d+)([wm])", visit)
    if match is None:
        return visit
    n = int(match[1])
    if match[2] == "w":
        return ngettext("%(n)d week", "%(n)d weeks", n) % {"n": n}
    return ngettext("%(n)d month", "%(n)d months", n) % {"n": n}


def _message(invitation, contact, *, number: int, link: str) -> Email:
    """The invitation (``number`` 0) or reminder ``number``, in the
    participant's language, through their channel."""
    with translation.override(contact.language):
        context = {
            "visit": patient_visit_label(invitation.visit),
            # Day, month name, year in every language ("11 December 2026",
            # "11 décembre 2026"): never an ambiguous 11/12/2026.
            "closes": formats.date_format(invitation.window_end, "j F Y"),
            "link": link,
            "reminder": number,
        }
        if number:
            subject = gettext("PERFORM study: a reminder about your questionnaires")
        else:
            subject = gettext("PERFORM study: your questionnaires are ready")
        if contact.channel == Channel.SMS:
            body = render_to_string("crf/epro/message.sms.txt", context)
        else:
            body = render_to_string("crf/epro/message.txt", context)
    key = (
        f"epro-reminder:{invitation.pk}:{number}"
        if number
        else f"epro-invitation:{invitation.pk}"
    )
    sms = contact.channel == Channel.SMS
    return Email(
        key=key,
        kind="epro_reminder" if number else "epro_invitation",
        to=[str(contact.phone) if sms else contact.email],
        subject=subject,
        body_text=body,
        holds_credential=True,
        channel="sms" if sms else "email",
        to_participant=True,
    )


def _site_date(now: datetime.datetime, time_zone: str) -> datetime.date:
    return now.astimezone(ZoneInfo(time_zone)).date()


def epro_sweep(*, now: datetime.datetime | None = None) -> EproSweepResult:
    """Write the invitations and reminders due at ``now`` into the outbox."""
    now = now or timezone.now()
    conf = settings.EPRO
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        contacts = {
            c.participant_id: c
            for c in ContactPreference.objects.filter(
                electronic_contact=True,
                channel__in=[Channel.EMAIL, Channel.SMS],
                opted_out_at__isnull=True,
                participant__status=ParticipantStatus.RANDOMIZED,
            )
        }
        if not contacts:
            return EproSweepResult(0, 0)
        scope = participants_for_system().filter(pk__in=list(contacts))
        inputs = schedule_inputs_for(scope, now=now)
        statuses = dict(scope.values_list("pk", "status"))
        submitted = set(
            PromResponse.objects.filter(
                participant_id__in=list(contacts),
                status=PromResponse.Status.SUBMITTED,
            ).values_list("participant_id", "visit")
        )
        locked = set(
            FollowUp.objects.filter(
                participant_id__in=list(contacts), locked=True
            ).values_list("participant_id", "visit")
        )
        invitations = {
            (i.participant_id, i.visit): i
            for i in SurveyInvitation.objects.filter(
                participant_id__in=list(contacts)
            ).annotate(
                sent=Count("reminders"), last_reminder_on=Max("reminders__for_date")
            )
        }
        messages, new_reminders, to_invite = [], [], []
        for pid, one in inputs.items():
            for state in one.schedule():
                reason = survey_closed_reason(
                    today=one.today,
                    window_start=state.window_start,
                    window_end=state.window_end,
                    ended_on=one.ended_on,
                    status=statuses[pid],
                    missed=bool(state.missed_reason),
                    submitted=(pid, state.code) in submitted,
                    locked=(pid, state.code) in locked,
                )
                if reason != OPEN:
                    continue
                invitation = invitations.get((pid, state.code))
                contact = contacts[pid]
                if invitation is None:
                    to_invite.append((contact, state, one.today))
                    continue
                number = invitation.sent + 1
                if number > conf["REMINDER_COUNT"] or one.today < _reminder_due_on(
                    invitation, number, conf["REMINDER_SPACING_DAYS"]
                ):
                    continue
                messages.append(
                    _message(
                        invitation, contact, number=number, link=link_for(invitation)
                    )
                )
                new_reminders.append((invitation, number, one.today))
        created = _invitations_build(to_invite)
        messages += [
            _message(
                invitation,
                contacts[invitation.participant_id],
                number=0,
                link=link_for(invitation),
            )
            for invitation in created
        ]
        ids = emails_queue(messages)
        for invitation in created:
            invitation.message_id = ids.get(f"epro-invitation:{invitation.pk}")
        SurveyInvitation.objects.bulk_create(created, batch_size=1000)
        SurveyReminder.objects.bulk_create(
            [
                SurveyReminder(
                    invitation=invitation,
                    number=number,
                    message_id=ids[f"epro-reminder:{invitation.pk}:{number}"],
                    for_date=day,
                )
                for invitation, number, day in new_reminders
                if f"epro-reminder:{invitation.pk}:{number}" in ids
            ],
            ignore_conflicts=True,
        )
    return EproSweepResult(len(created), len(new_reminders))


def _reminder_due_on(invitation, number: int, spacing: int) -> datetime.date:
    """Reminder ``number`` is due ``number`` × ``spacing`` days after the
    invitation, and never sooner than ``spacing`` days after the previous
    message: after days without a sweep, the reminders still come "3 days
    apart" (PROTOCOL §13), not one per hourly sweep until they catch up."""
    step = datetime.timedelta(days=spacing)
    previous = invitation.last_reminder_on or invitation.invited_on
    return max(invitation.invited_on + number * step, previous + step)


def _invitations_build(to_invite) -> list[SurveyInvitation]:
    """The new invitations, not yet saved, with ids reserved from the table's
    sequence in one query: the token digest and the messages' outbox keys
    need the id, and the invitations are then written in one insert with
    their message ids (no per-row insert or update: the sweep's queries stay
    bounded however many windows open today, one audit event per row)."""
    if not to_invite:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id'))"
            " FROM generate_series(1, %s)",
            [SurveyInvitation._meta.db_table, len(to_invite)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    rows = []
    for pk, (contact, state, today) in zip(ids, to_invite, strict=True):
        nonce = new_nonce()
        rows.append(
            SurveyInvitation(
                pk=pk,
                participant_id=contact.participant_id,
                visit=state.code,
                channel=contact.channel,
                token_digest=token_digest(token_for(pk, nonce)),
                nonce=nonce,
                window_start=state.window_start,
                window_end=state.window_end,
                invited_on=today,
            )
        )
    return rows
