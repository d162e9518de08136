"""Release of DSMB reports (PROTOCOL §11): a built report is a draft, seen by
statisticians only, until one of them releases it.

* ``report_release``: a ready draft becomes released, with a note to the
  DSMB; each active DSMB member is e-mailed a link (never the file) through
  the outbox, in the same transaction. Only from then on do DSMB members (and,
  for an open report, data managers) see and download it
  (``outcomes.selectors``). Reports of the monthly schedule are drafts like
  any other.
* ``report_withdraw``: a released report is withdrawn, with the reason; it
  stays listed, marked, and is no longer downloadable by the DSMB, who are
  e-mailed the reason. Past downloads stay in the log.
* ``report_recommendation_record``: after the meeting, the DSMB's
  recommendation on a released (not withdrawn) report; it may be corrected,
  each version staying in the audit trail.

Each service checks that the actor holds ``outcomes.release_report`` and may
see the report's kind, locks the report's row and decides on the state read
under the lock: a release submitted twice releases once and e-mails once (and
the outbox keys would keep a second e-mail out anyway). Every change is a
``ReportEvent`` (pghistory) carrying the actor and the note or reason.

Anyone allowed to release may release a report they requested themselves:
the protocol names one unblinded statistician, so a second person cannot be
required. The record (``requested_by``, ``released_by`` and the audit trail)
is the check.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from infrastructure.outbox import Email, emails_queue
from outcomes.exceptions import (
    ReportAlreadyReleased,
    ReportAlreadyWithdrawn,
    ReportNotReady,
    ReportNotReleased,
    TextRequired,
)
from outcomes.models import Report
from outcomes.selectors import may_release_reports, report_kinds_for
from perform.roles import DSMB_MEMBER
from perform.services import audit_context

RELEASED_KIND = "dsmb_report"
WITHDRAWN_KIND = "dsmb_report_withdrawn"


def _require_may_release(*, report: Report, user) -> None:
    if not may_release_reports(user) or report.kind not in report_kinds_for(user):
        raise PermissionDenied("Only the statistician releases DSMB reports.")


def _locked(report: Report) -> Report:
    """``report``'s row as it is now, locked until the transaction ends."""
    return Report.objects.select_for_update().get(pk=report.pk)


def _said(text: str, *, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TextRequired(message, field=field)
    return text


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _require_released(report: Report, doing: str) -> None:
    if report.released_at is None:
        raise ReportNotReleased(
            f"This report has not been released: only a released report can be {doing}."
        )
    if report.withdrawn_at is not None:
        raise ReportAlreadyWithdrawn(
            f"This report was withdrawn on {_when(report.withdrawn_at)} by "
            f"{report.withdrawn_by}: {report.withdrawal_reason}"
        )


@transaction.atomic
def report_release(*, report: Report, user, note: str) -> Report:
    """Release the ready draft ``report`` to the DSMB with ``note``, and
    e-mail each DSMB member a link to it."""
    _require_may_release(report=report, user=user)
    note = _said(note, field="note", message="Write a release note for the DSMB.")
    report = _locked(report)
    if report.status != Report.Status.READY:
        raise ReportNotReady(
            f"This report is {report.get_status_display().lower()}: only a "
            "ready report can be released."
        )
    if report.released_at is not None:
        raise ReportAlreadyReleased(
            f"This report was already released on {_when(report.released_at)} "
            f"by {report.released_by}."
        )
    with audit_context(actor=user, reason=note):
        report.released_at = timezone.now()
        report.released_by = user
        report.release_note = note
        report.save(update_fields=["released_at", "released_by", "release_note"])
    _dsmb_email(report, event="released", kind=RELEASED_KIND)
    return report


@transaction.atomic
def report_withdraw(*, report: Report, user, reason: str) -> Report:
    """Withdraw the released ``report`` for ``reason`` (it can no longer be
    downloaded by the DSMB), and e-mail each DSMB member the reason."""
    _require_may_release(report=report, user=user)
    reason = _said(
        reason, field="reason", message="Give the reason for withdrawing the report."
    )
    report = _locked(report)
    _require_released(report, "withdrawn")
    with audit_context(actor=user, reason=reason):
        report.withdrawn_at = timezone.now()
        report.withdrawn_by = user
        report.withdrawal_reason = reason
        report.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    _dsmb_email(report, event="withdrawn", kind=WITHDRAWN_KIND)
    return report


@transaction.atomic
def report_recommendation_record(*, report: Report, user, text: str) -> Report:
    """Record (or correct) what the DSMB recommended after reviewing the
    released ``report``."""
    _require_may_release(report=report, user=user)
    text = _said(
        text, field="recommendation", message="Write the DSMB's recommendation."
    )
    report = _locked(report)
    _require_released(report, "given a recommendation")
    with audit_context(actor=user, reason="DSMB recommendation recorded"):
        report.dsmb_recommendation = text
        report.recommendation_recorded_at = timezone.now()
        report.recommendation_recorded_by = user
        report.save(
            update_fields=[
                "dsmb_recommendation",
                "recommendation_recorded_at",
                "recommendation_recorded_by",
            ]
        )
    return report


def _dsmb_email(report: Report, *, event: str, kind: str) -> None:
    """E-mail each active DSMB member that ``report`` was ``event`` (released
    or withdrawn), with a link to its page (never the file)."""
    group = Group.objects.filter(name=DSMB_MEMBER).first()
    members = (
        group.user_set.filter(is_active=True).exclude(email="").order_by("pk")
        if group
        else []
    )
    trial = settings.TRIAL["NAME"]
    url = settings.SITE_URL + reverse("outcomes:report_detail", args=[report.pk])
    body = render_to_string(
        f"outcomes/email/report_{event}.txt",
        {"report": report, "url": url, "trial": trial},
    )
    subject = (
        f"[{trial}] DSMB {report.kind} report {event} (data cut-off {report.cutoff})"
    )
    emails_queue(
        [
            Email(
                key=f"report-{event}:{report.pk}:{member.pk}",
                kind=kind,
                to=[member.email],
                subject=subject,
                body_text=body,
            )
            for member in members
        ]
    )
