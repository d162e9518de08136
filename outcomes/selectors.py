"""Reads of DSMB reports, with the access rules of PROTOCOL §11.

* Open (pooled) reports: users holding ``outcomes.view_open_report`` (DSMB
  members, statisticians, data managers).
* Closed (by arm) reports: ``outcomes.view_closed_report`` only (DSMB members
  and the unblinded statistician). Everyone else is answered as if they did
  not exist (404), so site staff and data managers cannot learn that a closed
  report was made, nor anything of its contents.
* Reports still in the making (or failed) are listed only to those who may
  request reports; readers see ready reports. So is what the recovery sweep
  did to a report (``recoveries_for``).
"""

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from outcomes.models import Report, ReportDownload, ReportRecovery


def report_kinds_for(user) -> list[str]:
    kinds = []
    if user.is_authenticated and user.is_active:
        if user.has_perm("outcomes.view_open_report"):
            kinds.append(Report.Kind.OPEN)
        if user.has_perm("outcomes.view_closed_report"):
            kinds.append(Report.Kind.CLOSED)
    return kinds


def reports_for(user) -> QuerySet[Report]:
    """Reports ``user`` may list and download."""
    reports = Report.objects.filter(kind__in=report_kinds_for(user))
    if not user.has_perm("outcomes.request_report"):
        reports = reports.filter(status=Report.Status.READY)
    # Meta.ordering does not apply to an aggregate (GROUP BY) query: restated.
    return (
        reports.select_related("requested_by")
        .annotate(recovery_count=Count("recoveries"))
        .order_by(*Report._meta.ordering)
    )


def report_get(*, user, report_id: int) -> Report:
    """One report in ``user``'s scope, or 404."""
    return get_object_or_404(reports_for(user), pk=report_id)


def recoveries_for(*, user, report: Report) -> QuerySet[ReportRecovery] | None:
    """What the recovery sweep did to ``report``, oldest first; None for
    users who may not request reports (they are not shown it)."""
    if not user.has_perm("outcomes.request_report"):
        return None
    return report.recoveries.all()


def downloads_for(user) -> QuerySet[ReportDownload]:
    """The download log, for users holding ``outcomes.view_download_log``."""
    if not user.has_perm("outcomes.view_download_log"):
        return ReportDownload.objects.none()
    return ReportDownload.objects.select_related("report", "user")
