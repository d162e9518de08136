"""Shared by the randomization pages."""

import csv

from django.http import HttpResponse


def _posted(request):
    """The POST data to bind a form to (``None`` on GET: an unbound form)."""
    return request.POST if request.method == "POST" else None


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
