"""The Methods Centre's view of randomization: the randomization log (page and
CSV) and the balance of the strata."""

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from infrastructure.pagination import paginate
from perform import selectors as core_selectors
from randomization import concealment, selectors
from randomization.forms import LogFilterForm
from randomization.views.common import _csv_response


@require_GET
@permission_required("randomization.view_randomization_log", raise_exception=True)
def randomization_log(request):
    """Every allocation in the user's scope, newest first; CSV with
    ``?format=csv``. The arm and sequence columns exist only for the roles the
    selectors show them to (``log_arms_shown_to``, ``block_data_shown_to``)."""
    filters = LogFilterForm(
        request.GET or None, sites=core_selectors.sites_for(request.user)
    )
    site_code = (filters.cleaned_data.get("site") if filters.is_valid() else "") or None
    rows = selectors.randomization_log(request.user, site_code=site_code)
    show_arms = selectors.log_arms_shown_to(request.user)
    show_sequence = selectors.block_data_shown_to(request.user)
    if request.GET.get("format") == "csv":
        columns = [
            ("study_id", lambda row: row.study_id),
            ("site", lambda row: row.site),
            ("stratum", lambda row: row.stratum),
            *([("arm", lambda row: row.arm)] if show_arms else []),
            *([("sequence", lambda row: row.sequence)] if show_sequence else []),
            ("randomized_at", lambda row: row.randomized_at.isoformat()),
            ("randomized_by", lambda row: row.randomized_by),
        ]
        return _csv_response(
            "randomization-log.csv",
            [name for name, _ in columns],
            ([value(row) for _, value in columns] for row in rows),
        )
    return render(
        request,
        "randomization/log.html",
        {
            **paginate(request, rows),
            "filters": filters,
            "csv_query": (f"site={site_code}&" if site_code else "") + "format=csv",
            "show_arms": show_arms,
            "show_sequence": show_sequence,
            "column_count": 5 + show_arms + show_sequence,
        },
    )


@require_GET
@permission_required("randomization.view_balance", raise_exception=True)
def stratum_balance(request):
    allocation_list = selectors.active_list()
    show_guessing = selectors.block_data_shown_to(request.user)
    return render(
        request,
        "randomization/balance.html",
        {
            "allocation_list": allocation_list,
            "arms": allocation_list.arms if allocation_list else [],
            "rows": selectors.stratum_balance(request.user),
            "low_mark": settings.RANDOMIZATION["LOW_SLOTS_WARNING"],
            "show_guessing": show_guessing,
            # Columns beside the arm counts (for the empty row's colspan).
            "column_extra": 8 if show_guessing else 6,
            "chance_percent": (
                float(concealment.chance_rate(allocation_list.ratio)) * 100
                if allocation_list
                else None
            ),
        },
    )
