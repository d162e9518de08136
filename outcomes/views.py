"""DSMB report pages: list and request, progress, downloads, download log, the
statistician's release decisions and analysis dataset export.

Which reports a user sees is decided in ``outcomes.selectors`` (404 for the
rest, drafts included for everyone but statisticians); these views check the
page-level permission (403) and stay thin. The release decisions are POST
only; a refusal re-renders the report page with the error at the top.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from infrastructure.pagination import paginate
from outcomes import downloads, release, selectors, services
from outcomes.exceptions import ReportError, TextRequired
from outcomes.forms import (
    DatasetExportForm,
    ReportRecommendationForm,
    ReportReleaseForm,
    ReportRequestForm,
    ReportWithdrawForm,
)
from outcomes.models import Report, ReportDownload


def _may_read_reports(user) -> bool:
    return bool(selectors.report_kinds_for(user))


@require_http_methods(["GET", "POST"])
def report_list(request):
    user = request.user
    if not _may_read_reports(user):
        raise PermissionDenied("You may not see DSMB reports.")
    may_request = user.has_perm("outcomes.request_report")
    form = None
    if may_request:
        form = ReportRequestForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                report = services.report_request(actor=user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"{report} requested.")
                return redirect("outcomes:report_detail", report_id=report.pk)
    elif request.method == "POST":
        raise PermissionDenied("You may not request DSMB reports.")
    return render(
        request,
        "outcomes/report_list.html",
        {
            **paginate(request, selectors.reports_for(user)),
            "form": form,
            "may_export": user.has_perm("outcomes.export_analysis_dataset"),
            "may_export_data": user.has_perm("outcomes.export_data"),
            "may_see_downloads": user.has_perm("outcomes.view_download_log"),
            "export_form": DatasetExportForm(),
        },
    )


def _detail(request, report: Report, *, bound=None, error="", status=200):
    """The report page; ``bound``: the decision form just posted, with its
    errors, in place of its blank copy; ``error``: a refusal of the service."""
    user = request.user
    logged = None
    if user.has_perm("outcomes.view_download_log"):
        logged = report.downloads.select_related("user")[:100]
    decisions = {}
    if selectors.may_release_reports(user) and report.is_ready:
        if report.is_draft:
            decisions["release_form"] = ReportReleaseForm
        elif report.is_released:
            decisions["withdraw_form"] = ReportWithdrawForm
            decisions["recommendation_form"] = ReportRecommendationForm
    forms = {
        name: bound
        if bound is not None and isinstance(bound, form_class)
        else form_class(
            report=report,
            initial={"recommendation": report.dsmb_recommendation},
        )
        for name, form_class in decisions.items()
    }
    return render(
        request,
        "outcomes/report_detail.html",
        {
            "report": report,
            "downloads": logged,
            "recoveries": selectors.recoveries_for(user=user, report=report),
            "max_attempts": settings.REPORT_RECOVERY["MAX_ATTEMPTS"],
            "show_recommendation": selectors.recommendation_visible_to(user),
            "bound_form": bound,
            "error": error,
            **forms,
        },
        status=status,
    )


@require_GET
def report_detail(request, report_id: int):
    report = selectors.report_get(user=request.user, report_id=report_id)
    return _detail(request, report)


def _decide(request, report_id: int, form_class, service, *, field, argument, done):
    """Bind ``form_class`` to the post and pass its ``field`` to ``service``
    as ``argument``; on success back to the report page with ``done``, else
    the page again with the errors."""
    report = selectors.report_get(user=request.user, report_id=report_id)
    form = form_class(request.POST, report=report)
    if form.is_valid():
        text = form.cleaned_data[field]
        try:
            service(report=report, user=request.user, **{argument: text})
        except TextRequired as refusal:
            form.add_error(refusal.field, refusal.message)
        except ReportError as refusal:
            report = selectors.report_get(user=request.user, report_id=report_id)
            return _detail(request, report, error=refusal.message, status=409)
        else:
            messages.success(request, done)
            return redirect("outcomes:report_detail", report_id=report.pk)
    return _detail(request, report, bound=form)


@permission_required("outcomes.release_report", raise_exception=True)
@require_POST
def report_release(request, report_id: int):
    return _decide(
        request,
        report_id,
        ReportReleaseForm,
        release.report_release,
        field="note",
        argument="note",
        done="Report released: the DSMB members have been e-mailed a link.",
    )


@permission_required("outcomes.release_report", raise_exception=True)
@require_POST
def report_withdraw(request, report_id: int):
    return _decide(
        request,
        report_id,
        ReportWithdrawForm,
        release.report_withdraw,
        field="reason",
        argument="reason",
        done="Report withdrawn: the DSMB members have been e-mailed the reason.",
    )


@permission_required("outcomes.release_report", raise_exception=True)
@require_POST
def report_recommendation(request, report_id: int):
    return _decide(
        request,
        report_id,
        ReportRecommendationForm,
        release.report_recommendation_record,
        field="recommendation",
        argument="text",
        done="The DSMB's recommendation is recorded.",
    )


@require_GET
def report_status(request, report_id: int):
    """Progress of a report as JSON, polled by its page while it is built."""
    report = selectors.report_get(user=request.user, report_id=report_id)
    return JsonResponse(
        {
            "id": report.pk,
            "status": report.status,
            "status_display": report.get_status_display(),
            "progress": report.progress,
            "stage": report.stage,
            "error": report.error if report.status == Report.Status.FAILED else "",
            "pdf_url": reverse("outcomes:report_pdf", args=[report.pk])
            if report.downloadable
            else "",
        }
    )


def _download(request, report_id: int, fmt: str):
    try:
        path, name = downloads.report_file(
            user=request.user,
            report_id=report_id,
            fmt=fmt,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as error:
        raise Http404(error.messages[0]) from error
    content_type = "application/pdf" if fmt == "pdf" else "application/json"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )


@require_GET
def report_download_pdf(request, report_id: int):
    return _download(request, report_id, ReportDownload.Format.PDF)


@require_GET
def report_download_json(request, report_id: int):
    return _download(request, report_id, ReportDownload.Format.JSON)


@require_GET
@permission_required("outcomes.view_download_log", raise_exception=True)
def download_log(request):
    return render(
        request,
        "outcomes/download_log.html",
        paginate(request, selectors.downloads_for(request.user)),
    )


def _csv(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@permission_required("outcomes.export_analysis_dataset", raise_exception=True)
def dataset_export(request):
    """The analysis dataset as CSV (one row per randomized participant);
    logged."""
    form = DatasetExportForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return _csv(
        *downloads.dataset_csv(
            user=request.user,
            cutoff=form.cleaned_data["cutoff"],
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    )


@require_GET
@permission_required("outcomes.export_analysis_dataset", raise_exception=True)
def dataset_dictionary(request):
    """The data dictionary of the analysis dataset as CSV; logged."""
    return _csv(
        *downloads.dictionary_csv(
            user=request.user, ip_address=request.META.get("REMOTE_ADDR")
        )
    )
