"""Central statistical monitoring pages (PROTOCOL §14): the summary of every
site's key risk indicators on a date, and each indicator's funnel plot.

Both need ``outcomes.view_monitoring`` (403 otherwise) and stay thin: the
figures come from ``outcomes.monitoring.page``. A bad date re-renders the
page with the form's errors (the PNG answers 400: it is only ever requested
by the page, with the date the page validated).
"""

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from outcomes.monitoring.forms import MonitoringAsOfForm
from outcomes.monitoring.indicators import INDICATORS_BY_CODE
from outcomes.monitoring.page import indicator_funnel_png, monitoring_page


@require_GET
@permission_required("outcomes.view_monitoring", raise_exception=True)
def monitoring_summary(request):
    form = MonitoringAsOfForm(request.GET)
    page = None
    if form.is_valid():
        page = monitoring_page(user=request.user, as_of=form.cleaned_data["as_of"])
    return render(
        request, "outcomes/monitoring.html", {"form": form, "monitoring": page}
    )


@require_GET
@permission_required("outcomes.view_monitoring", raise_exception=True)
def funnel_png(request, indicator_code: str):
    if indicator_code not in INDICATORS_BY_CODE:
        raise Http404("No such indicator.")
    form = MonitoringAsOfForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(m for ms in form.errors.values() for m in ms),
            content_type="text/plain; charset=utf-8",
        )
    png = indicator_funnel_png(
        user=request.user,
        as_of=form.cleaned_data["as_of"],
        indicator_code=indicator_code,
    )
    if png is None:
        raise Http404("No site has data for this indicator.")
    response = HttpResponse(png, content_type="image/png")
    # Figures about the user's sites: never kept by a shared cache.
    patch_cache_control(response, private=True)
    return response
