"""Pages of the export wizard (``/exports/``): the request form and the list
of exports, an export's page with its progress, and its download.

The page-level permission (``outcomes.export_data``) answers 403; an export
the user may not see (``selectors``: not theirs, unless they keep the log) is
a 404. While an export is built its page refreshes itself through the
``Refresh`` response header (no script, so nothing for the CSP to allow).
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from infrastructure.pagination import paginate
from outcomes.data_export import selectors, services
from outcomes.data_export.forms import FORMAT_LABELS, DataExportForm

REFRESH_SECONDS = 3


@require_http_methods(["GET", "POST"])
@permission_required("outcomes.export_data", raise_exception=True)
def data_export_list(request):
    user = request.user
    form = DataExportForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            export = services.data_export_request(user=user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{export} requested.")
            return redirect("exports:detail", export_id=export.pk)
    return render(
        request,
        "outcomes/data_export/list.html",
        {
            **paginate(request, selectors.data_exports_for(user)),
            "form": form,
            "sees_every_export": selectors.sees_every_export(user),
        },
    )


@require_GET
@permission_required("outcomes.export_data", raise_exception=True)
def data_export_detail(request, export_id: int):
    export = selectors.data_export_get(user=request.user, export_id=export_id)
    response = render(
        request,
        "outcomes/data_export/detail.html",
        {
            "export": export,
            "format_labels": [FORMAT_LABELS[key] for key in export.formats],
            "downloads": export.downloads.select_related("user")[:100],
        },
    )
    if export.in_progress:
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


@require_GET
@permission_required("outcomes.export_data", raise_exception=True)
def data_export_download(request, export_id: int):
    try:
        content, export = services.data_export_download(
            user=request.user,
            export_id=export_id,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as error:
        raise Http404(error.messages[0]) from error
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    response["X-Content-SHA256"] = export.sha256
    return response
