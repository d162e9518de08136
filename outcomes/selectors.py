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
* A ready report is a draft until it is released (``outcomes.release``):
  drafts are seen only by those who may release reports (statisticians); to
  everyone else a draft does not exist (404), whatever its kind. A withdrawn
  report stays listed, with the reason, but only those who may release reports
  may still download it (``downloadable``).
* The DSMB's recommendation is shown to the unblinded roles only (it may speak
  of the arms), not to data managers reading an open report.
"""

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
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


def may_release_reports(user) -> bool:
    return user.is_active and user.has_perm("outcomes.release_report")


def reports_for(user) -> QuerySet[Report]:
    """Reports ``user`` may list, each annotated ``downloadable`` (whether
    ``user`` may download its files) and ``recovery_count``."""
    reports = Report.objects.filter(kind__in=report_kinds_for(user))
    ready = Q(status=Report.Status.READY)
    if not user.has_perm("outcomes.request_report"):
        reports = reports.filter(ready)
    if may_release_reports(user):
        downloadable = ready
    else:
        reports = reports.exclude(ready & Q(released_at__isnull=True))
        downloadable = ready & Q(released_at__isnull=False, withdrawn_at__isnull=True)
    # Meta.ordering does not apply to an aggregate (GROUP BY) query: restated.
    return (
        reports.select_related(
            "requested_by",
            "released_by",
            "withdrawn_by",
            "recommendation_recorded_by",
        )
        .annotate(
            recovery_count=Count("recoveries"),
            downloadable=ExpressionWrapper(downloadable, output_field=BooleanField()),
        )
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


def recommendation_visible_to(user) -> bool:
    """Whether ``user`` is shown the DSMB's recommendations: unblinded roles
    (the DSMB itself and the statistician) only."""
    return user.has_perm("outcomes.view_closed_report")


def downloads_for(user) -> QuerySet[ReportDownload]:
    """The download log (reports and datasets), for users holding
    ``outcomes.view_download_log``."""
    if not user.has_perm("outcomes.view_download_log"):
        return ReportDownload.objects.none()
    return ReportDownload.objects.select_related("report", "user")
