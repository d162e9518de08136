"""Allocation list management (statisticians): the index, generate, import,
the list page with verification, activation, extension and the CSV export."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from perform import selectors as core_selectors
from randomization import selectors, services
from randomization.exceptions import ListInvalid, ListStateError, RandomizationError
from randomization.forms import (
    ActionForm,
    ListActivateForm,
    ListExtendForm,
    ListGenerateForm,
    ListImportForm,
)
from randomization.views.common import _csv_response, _posted

MANAGE_LISTS = "randomization.manage_lists"


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
