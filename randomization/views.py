"""Randomization pages: bind a form, call a service or selector, render.

Permissions are checked here (403 for a missing role), site scope in the
selectors (404 for a participant at another site). A participant's arm is
read only through ``selectors.allocation_shown_to``; unused slots and block
data only through the statistician's list selectors; within-stratum sequence
numbers, and arms in the log, only where the selectors' rules allow
(``block_data_shown_to``, ``log_arms_shown_to``).
"""

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from perform import selectors as core_selectors
from perform.eligibility import eligibility_evaluate
from perform.models import ConsentRecord
from randomization import concealment, selectors, services, strata
from randomization.confirmation import pre_randomization_warnings
from randomization.exceptions import ListInvalid, ListStateError, RandomizationError
from randomization.forms import (
    ActionForm,
    ListActivateForm,
    ListExtendForm,
    ListGenerateForm,
    ListImportForm,
    LogFilterForm,
    RandomizeForm,
)
from randomization.pdf import allocation_confirmation_pdf

PAGE_SIZE = 50
# The answer to a randomize request is the arm: both are needed (as in the API).
RANDOMIZE_PERMISSIONS = (
    "randomization.randomize_participant",
    "randomization.view_allocation",
)
MANAGE_LISTS = "randomization.manage_lists"


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


# ---------------------------------------------------------------------------
# Randomizing a participant
# ---------------------------------------------------------------------------
def _randomization_check(user, participant) -> dict:
    """What the confirmation page shows: stratum data, consent, eligibility,
    and every reason the participant cannot be randomized now."""
    allocation_list = selectors.active_list()
    factors = (
        allocation_list.factors
        if allocation_list
        else settings.RANDOMIZATION["STRATIFICATION_FACTORS"]
    )
    levels, missing = strata.participant_levels(participant, factors)
    allocation = selectors.allocation_shown_to(user, participant)
    reasons = []
    if allocation is None:
        if allocation_list is None:
            reasons.append("Randomization is not open: no allocation list is active.")
        reasons.extend(services.randomization_blockers(participant, factors))
    return {
        "allocation": allocation,
        "allocation_list": allocation_list,
        "stratification": [
            (strata.FACTORS[name].label, levels.get(name)) for name in factors
        ],
        "stratum_label": "" if missing else strata.stratum_label(levels),
        "consent": participant.consents.filter(
            decision=ConsentRecord.Decision.GIVEN
        ).last(),
        "eligibility": eligibility_evaluate(
            criteria=core_selectors.criteria_active(),
            answers=core_selectors.participant_answers(participant),
            age=participant.age_at_screening,
        ),
        "reasons": reasons,
        "can_confirm": allocation is None and not reasons,
    }


@require_http_methods(["GET", "POST"])
@permission_required(RANDOMIZE_PERMISSIONS, raise_exception=True)
def participant_randomize(request, study_id):
    """GET: the confirmation step. POST: randomize (a repeated POST returns
    the allocation already made), then show the result."""
    participant = core_selectors.participant_get(user=request.user, study_id=study_id)
    form = RandomizeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            result = services.participant_randomize(
                actor=request.user, participant=participant
            )
        except RandomizationError as error:
            form.add_error(None, error.message)
        else:
            if result.created:
                messages.success(request, f"{study_id} has been randomized.")
            else:
                messages.info(
                    request,
                    f"{study_id} was already randomized: nothing new was allocated.",
                )
            return redirect("randomization:allocation", study_id=study_id)
    return render(
        request,
        "randomization/randomize.html",
        {
            "participant": participant,
            "form": form,
            **_randomization_check(request.user, participant),
            "warnings": pre_randomization_warnings(request.user, participant),
        },
    )


def _allocation_or_404(user, study_id):
    participant = core_selectors.participant_get(user=user, study_id=study_id)
    allocation = selectors.allocation_shown_to(user, participant)
    if allocation is None:
        raise Http404("No allocation to show.")
    return participant, allocation


@require_GET
@never_cache
@permission_required("randomization.view_allocation", raise_exception=True)
def participant_allocation(request, study_id):
    participant, allocation = _allocation_or_404(request.user, study_id)
    return render(
        request,
        "randomization/allocation.html",
        {"participant": participant, "allocation": allocation},
    )


@require_GET
@never_cache
@permission_required("randomization.view_allocation", raise_exception=True)
def participant_allocation_pdf(request, study_id):
    participant, allocation = _allocation_or_404(request.user, study_id)
    response = HttpResponse(
        allocation_confirmation_pdf(
            allocation=allocation, participant=participant, generated_at=timezone.now()
        ),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = (
        f'inline; filename="randomization-{participant.study_id}.pdf"'
    )
    return response


# ---------------------------------------------------------------------------
# Methods Centre views
# ---------------------------------------------------------------------------
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
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "randomization/log.html",
        {
            "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "filters": filters,
            "query": query.urlencode(),
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


# ---------------------------------------------------------------------------
# List management (statisticians)
# ---------------------------------------------------------------------------
def _list_or_404(user, list_id):
    try:
        return selectors.list_detail(user, list_id)
    except ObjectDoesNotExist:
        raise Http404("No such allocation list.") from None


def _add_list_errors(form, error: RandomizationError) -> None:
    for message in getattr(error, "errors", None) or [error.message]:
        form.add_error(None, message)


@require_GET
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_index(request):
    return render(
        request,
        "randomization/list_index.html",
        {"lists": selectors.lists_for(request.user)},
    )


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_generate(request):
    form = ListGenerateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            allocation_list = services.list_generate(
                actor=request.user, **form.cleaned_data
            )
        except ListInvalid as error:
            _add_list_errors(form, error)
        else:
            messages.success(request, f"Draft list “{allocation_list.name}” generated.")
            return redirect("randomization:list_detail", list_id=allocation_list.pk)
    return render(
        request,
        "randomization/list_form.html",
        {"form": form, "title": "Generate an allocation list"},
    )


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_import(request):
    form = ListImportForm(_posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            allocation_list = services.list_import(
                actor=request.user,
                name=form.cleaned_data["name"],
                csv_text=form.cleaned_data["file"],
            )
        except ListInvalid as error:
            _add_list_errors(form, error)
        else:
            messages.success(request, f"Draft list “{allocation_list.name}” imported.")
            return redirect("randomization:list_detail", list_id=allocation_list.pk)
    return render(
        request,
        "randomization/list_form.html",
        {
            "form": form,
            "title": "Import an allocation list",
            "import_columns": services.IMPORT_COLUMNS,
        },
    )


@require_GET
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_detail(request, list_id):
    allocation_list = _list_or_404(request.user, list_id)
    is_active = allocation_list.status == allocation_list.Status.ACTIVE
    return render(
        request,
        "randomization/list_detail.html",
        {
            "allocation_list": allocation_list,
            "strata": [
                {**row, "left": row["total"] - row["used"]}
                for row in selectors.list_strata_summary(request.user, allocation_list)
            ],
            "events": selectors.list_events(request.user, allocation_list),
            "verify_form": ActionForm(
                form_id="verify-form",
                label="Verify digest",
                action=reverse("randomization:list_verify", args=[allocation_list.pk]),
            ),
            "can_activate": allocation_list.status == allocation_list.Status.DRAFT,
            "can_extend": is_active and allocation_list.seed is not None,
        },
    )


@permission_required(MANAGE_LISTS, raise_exception=True)
@require_POST
def list_verify(request, list_id):
    allocation_list = _list_or_404(request.user, list_id)
    result = services.list_verify_record(
        actor=request.user, allocation_list=allocation_list
    )
    digests = f"recorded {result.recorded or '(none)'}, computed {result.computed}"
    if result.matches:
        messages.success(request, f"The list matches its recorded digest: {digests}.")
    else:
        messages.error(
            request, f"The list DOES NOT MATCH its recorded digest: {digests}."
        )
    return redirect("randomization:list_detail", list_id=allocation_list.pk)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_activate(request, list_id):
    """A confirmation page; the POST activates the draft list."""
    allocation_list = _list_or_404(request.user, list_id)
    form = ListActivateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.list_activate(actor=request.user, allocation_list=allocation_list)
        except ListStateError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"“{allocation_list.name}” is active: randomization is open."
            )
        return redirect("randomization:list_detail", list_id=allocation_list.pk)
    return render(
        request,
        "randomization/list_activate.html",
        {
            "allocation_list": allocation_list,
            "form": form,
            "strata": selectors.list_strata_summary(request.user, allocation_list),
            "digest": services.list_digest_compute(allocation_list),
            "can_activate": allocation_list.status == allocation_list.Status.DRAFT,
        },
    )


@require_GET
@never_cache
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_export(request, list_id):
    """Every slot of the list, used or not (statisticians only)."""
    allocation_list = _list_or_404(request.user, list_id)
    slots = selectors.list_slots_for_export(request.user, allocation_list)
    return _csv_response(
        f"allocation-list-{allocation_list.pk}.csv",
        ["stratum", "sequence", "arm", "block", "block_size", "study_id"],
        (
            [
                slot.stratum.key,
                slot.sequence,
                slot.arm,
                slot.block_number,
                slot.block_size,
                slot.participant.study_id if slot.participant else "",
            ]
            for slot in slots.iterator(2000)
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_LISTS, raise_exception=True)
def list_extend(request, list_id):
    allocation_list = _list_or_404(request.user, list_id)
    form = ListExtendForm(
        _posted(request),
        factors=allocation_list.factors,
        sites=core_selectors.sites_for(request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            stratum = services.list_extend(
                actor=request.user,
                allocation_list=allocation_list,
                levels=form.levels(),
                min_slots=form.cleaned_data["min_slots"],
                reason=form.cleaned_data["reason"],
            )
        except (ListInvalid, ListStateError) as error:
            _add_list_errors(form, error)
        else:
            messages.success(
                request, f"Slots added to stratum {stratum.key}; new digest recorded."
            )
            return redirect("randomization:list_detail", list_id=allocation_list.pk)
    return render(
        request,
        "randomization/list_form.html",
        {
            "form": form,
            "allocation_list": allocation_list,
            "title": f"Add slots to “{allocation_list.name}”",
        },
    )
