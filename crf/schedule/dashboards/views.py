"""The site dashboard and the Methods Centre data-quality view.

Permissions are checked here (403), site scope in ``crf.schedule.dashboards`` (through
``participants_for``).
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crf.models import ResponseMode
from crf.schedule import dashboards as dashboard
from infrastructure.pagination import paginate, rows_requested
from perform.selectors import sites_for, user_sees_all_sites


class TaskFilterForm(forms.Form):
    """GET filters and sort order of the site dashboard."""

    site = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(label="What", required=False)
    sort = forms.ChoiceField(label="Sort by", required=False, choices=dashboard.SORTS)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All my sites")] + [
            (s.code, s.code) for s in sites
        ]
        self.fields["kind"].choices = [("", "Everything"), *dashboard.TASK_KINDS]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "task-filter"
        self.helper.add_input(Submit("", "Show", css_class="btn-secondary"))


class QualityFilterForm(forms.Form):
    site = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All sites")] + [
            (s.code, s.code) for s in sites
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "quality-filter"
        self.helper.add_input(Submit("", "Show", css_class="btn-secondary"))


@require_GET
@permission_required("crf.view_forms", raise_exception=True)
def site_dashboard(request):
    sites = list(sites_for(request.user).order_by("code"))
    filters = TaskFilterForm(request.GET or None, sites=sites)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    tasks = dashboard.site_tasks(
        user=request.user,
        site_code=criteria.get("site"),
        kind=criteria.get("kind"),
        sort=criteria.get("sort") or "date",
        # Only a guess of the rows to fetch with the counts (the paginator
        # shows the last page for a number past the end).
        expected=rows_requested(request),
    )
    return render(
        request,
        "crf/dashboard_site.html",
        {
            **paginate(request, tasks),
            "filters": filters,
            "counts": dashboard.task_counts(tasks),
            "kind": criteria.get("kind") or "",
            "sites": sites,
            "all_sites": user_sees_all_sites(request.user),
            "soon_days": dashboard.OPENING_SOON_DAYS,
        },
    )


@require_GET
@permission_required(["perform.view_all_sites", "crf.view_forms"], raise_exception=True)
def data_quality(request):
    sites = list(sites_for(request.user).order_by("code"))
    filters = QualityFilterForm(request.GET or None, sites=sites)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    quality, completion = dashboard.quality_tables(
        user=request.user, site_code=criteria.get("site")
    )
    return render(
        request,
        "crf/dashboard_quality.html",
        {
            "filters": filters,
            "sites": quality,
            "completion": completion,
            "modes": ResponseMode.choices,
        },
    )
