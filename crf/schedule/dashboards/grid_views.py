"""The record status grid's page (``crf.schedule.dashboards.grid``).

Permission is checked here (403), site scope in the grid's reads (through
``participants_for``). Filters that do not parse are ignored, each with its
message beside the field and a line above the grid saying so; the others
still apply.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crf.schedule.dashboards import grid, grid_scope
from infrastructure.pagination import paginate
from perform.selectors import sites_for, user_sees_all_sites


class GridFilterForm(forms.Form):
    """GET filters of the grid. The site filter is offered to users of more
    than one site (the Methods Centre, staff of several sites); for the others
    a ``site`` parameter is not a field, so it is ignored."""

    q = forms.CharField(label="Study ID", required=False, max_length=40)
    status = forms.ChoiceField(
        label="Show participants",
        required=False,
        choices=[("", "All"), *grid_scope.STATUS_FILTERS],
    )
    site = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        if len(sites) > 1:
            self.fields["site"].choices = [("", "All my sites")] + [
                (s.code, s.code) for s in sites
            ]
        else:
            del self.fields["site"]
        self.fields["q"].widget.attrs["placeholder"] = "part of a study ID"
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.form_id = "grid-filter"
        self.helper.add_input(Submit("", "Show", css_class="btn-secondary"))

    def criteria(self) -> dict:
        """The filters that parse (every one, if the form is unbound)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


@require_GET
@permission_required("crf.view_forms", raise_exception=True)
def record_status(request):
    sites = list(sites_for(request.user).order_by("code"))
    filters = GridFilterForm(request.GET or None, sites=sites)
    criteria = filters.criteria()
    ids = grid_scope.grid_participant_ids(
        user=request.user,
        site_code=criteria.get("site"),
        status=criteria.get("status"),
        search=criteria.get("q"),
    )
    context = paginate(request, ids)
    return render(
        request,
        "crf/dashboard_grid.html",
        {
            **context,
            "filters": filters,
            "rows": grid.grid_rows(user=request.user, ids=context["page"].object_list),
            "columns": grid.grid_columns(),
            "states": grid.STATES.values(),
            "sites": sites,
            "all_sites": user_sees_all_sites(request.user),
            "many_sites": len(sites) > 1,  # else no site column
        },
    )
