"""DSMB report pages: list and request, progress, downloads, download log, and
the statistician's analysis dataset export.

Which reports a user sees is decided in ``outcomes.selectors`` (404 for the
rest); these views check the page-level permission (403) and stay thin.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from infrastructure.pagination import paginate
from outcomes import selectors, services
from outcomes.derivation import analysis_dataset, columns, data_dictionary
from outcomes.forms import DatasetExportForm, ReportRequestForm
from outcomes.inputs import table_csv
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
            "may_see_downloads": user.has_perm("outcomes.view_download_log"),
            "export_form": DatasetExportForm(),
        },
    )


@require_GET
def report_detail(request, report_id: int):
    report = selectors.report_get(user=request.user, report_id=report_id)
    downloads = None
    if request.user.has_perm("outcomes.view_download_log"):
        downloads = report.downloads.select_related("user")[:100]
    return render(
        request,
        "outcomes/report_detail.html",
        {
            "report": report,
            "downloads": downloads,
            "recoveries": selectors.recoveries_for(user=request.user, report=report),
            "max_attempts": settings.REPORT_RECOVERY["MAX_ATTEMPTS"],
        },
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
            if report.is_ready
            else "",
        }
    )


def _download(request, report_id: int, fmt: str):
    try:
        path, name = services.report_file(
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


@require_GET
@permission_required("outcomes.export_analysis_dataset", raise_exception=True)
def dataset_export(request):
    """The analysis dataset as CSV (one row per randomized participant)."""
    form = DatasetExportForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    cutoff = form.cleaned_data["cutoff"]
    dataset = analysis_dataset(cutoff=cutoff)
    response = HttpResponse(
        table_csv(columns(), dataset.rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="perform-analysis-dataset-{cutoff}.csv"'
    )
    return response


@require_GET
@permission_required("outcomes.export_analysis_dataset", raise_exception=True)
def dataset_dictionary(request):
    rows = [
        {"column": name, "type": kind, "description": text}
        for name, kind, text in data_dictionary()
    ]
    response = HttpResponse(
        table_csv(["column", "type", "description"], rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        'attachment; filename="perform-analysis-dataset-dictionary.csv"'
    )
    return response
