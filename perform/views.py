"""Trial-core pages: bind a form, call a service, render or redirect.

Permissions are checked here (403 for a missing role), site scope in the
selectors (404 for another site's participant).
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from infrastructure.pagination import paginate
from perform import kept_submissions, selectors, services
from perform.audit_trail import audit_trail
from perform.eligibility import participant_eligibility
from perform.exceptions import TrialError
from perform.forms import ConsentForm, DeclineForm, ParticipantFilterForm, ScreeningForm
from perform.models import ParticipantStatus
from perform.panels import participant_panels_for


def _apply_trial_error(form, error: TrialError) -> None:
    """Show a domain error next to its field, or at the top of the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


@require_GET
def home(request):
    """Send each role to its first page; users with no trial pages see a notice."""
    user = request.user
    if user.has_perm("perform.view_participant"):
        return redirect("participant_list")
    if user.has_perm("outcomes.view_open_report"):
        return redirect("outcomes:report_list")
    if user.has_perm("perform.manage_roles"):
        return redirect("role_accounts")
    return render(request, "perform/home.html")


@login_not_required
@require_GET
def healthz(request):
    """Liveness for load balancers and docker: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
@permission_required("perform.view_participant", raise_exception=True)
def participant_list(request):
    sites = selectors.sites_for(request.user)
    filters = ParticipantFilterForm(
        request.GET or None, sites=sites, statuses=ParticipantStatus.choices
    )
    criteria = filters.cleaned_data if filters.is_valid() else {}
    participants = selectors.participant_list(
        user=request.user,
        site_code=criteria.get("site"),
        status=criteria.get("status"),
        search=criteria.get("q"),
    )
    return render(
        request,
        "perform/participant_list.html",
        {
            **paginate(request, participants),
            "filters": filters,
            "status_counts": selectors.participant_status_counts(
                user=request.user, site_code=criteria.get("site")
            ),
            "can_screen": request.user.has_perm("perform.screen_participant"),
        },
    )


@kept_submissions.restores_kept_submission
@require_http_methods(["GET", "POST"])
@permission_required("perform.screen_participant", raise_exception=True)
def participant_screen(request):
    sites = selectors.screening_sites_for(request.user)
    if not sites.exists():
        raise PermissionDenied("You are not linked to an active site.")
    form = ScreeningForm(
        kept_submissions.posted_or_restored(request),
        user=request.user,
        sites=sites,
        criteria=selectors.criteria_active(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.participant_screen(
                actor=request.user,
                site=form.cleaned_data["site"],
                **form.service_kwargs(),
            )
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(
                request,
                f"Screened as {participant.study_id}: "
                f"{participant.get_status_display().lower()}.",
            )
            return redirect("participant_detail", study_id=participant.study_id)
    return render(
        request,
        "perform/screening_form.html",
        {"form": form, "title": "Screen a patient"},
    )


# Audit entries shown on the participant page (perform.audit_views has all).
RECENT_CHANGES = 5


@require_GET
@permission_required("perform.view_participant", raise_exception=True)
def participant_detail(request, study_id):
    participant = selectors.participant_detail(user=request.user, study_id=study_id)
    eligibility = participant_eligibility(
        participant, criteria=selectors.criteria_active()
    )
    can_screen = request.user.has_perm("perform.screen_participant")
    # The apps above the core add their sections (the allocation, the forms),
    # each applying its own access rules (perform.panels).
    panels, panel_context = participant_panels_for(request.user, participant)
    return render(
        request,
        "perform/participant_detail.html",
        {
            "participant": participant,
            # (criterion, answer, met) for every active criterion.
            "checklist": eligibility.checklist,
            # The latest changes; the whole trail is on its own page.
            "recent_changes": audit_trail(participant=participant, viewer=request.user)[
                :RECENT_CHANGES
            ],
            "can_edit_screening": can_screen
            and participant.status in services.SCREENING_EDITABLE,
            "can_consent": can_screen
            and participant.status
            in {ParticipantStatus.ELIGIBLE, ParticipantStatus.DECLINED},
            "can_decline": can_screen
            and participant.status == ParticipantStatus.ELIGIBLE,
            "panels": panels,
            **panel_context,
        },
    )


@kept_submissions.restores_kept_submission
@require_http_methods(["GET", "POST"])
@permission_required("perform.screen_participant", raise_exception=True)
def participant_screening_edit(request, study_id):
    participant = selectors.participant_detail(user=request.user, study_id=study_id)
    form = ScreeningForm(
        kept_submissions.posted_or_restored(request),
        user=request.user,
        sites=selectors.screening_sites_for(request.user),
        criteria=selectors.criteria_active(),
        participant=participant,
        require_reason=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.participant_screening_update(
                actor=request.user,
                participant=participant,
                reason=form.cleaned_data["reason"],
                **form.service_kwargs(),
            )
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(request, f"Screening record of {study_id} updated.")
            return redirect("participant_detail", study_id=study_id)
    return render(
        request,
        "perform/screening_form.html",
        {
            "form": form,
            "participant": participant,
            "title": f"Edit screening of {study_id}",
        },
    )


def _decision_view(request, study_id, *, form_class, service, template_title, done):
    participant = selectors.participant_get(user=request.user, study_id=study_id)
    form = form_class(
        kept_submissions.posted_or_restored(request), participant=participant
    )
    if request.method == "POST" and form.is_valid():
        try:
            service(actor=request.user, participant=participant, **form.cleaned_data)
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(request, done.format(study_id=study_id))
            return redirect("participant_detail", study_id=study_id)
    return render(
        request,
        "perform/decision_form.html",
        {"form": form, "participant": participant, "title": template_title},
    )


@kept_submissions.restores_kept_submission
@require_http_methods(["GET", "POST"])
@permission_required("perform.screen_participant", raise_exception=True)
def participant_consent(request, study_id):
    return _decision_view(
        request,
        study_id,
        form_class=ConsentForm,
        service=services.participant_consent_record,
        template_title="Record consent",
        done="Consent recorded for {study_id}.",
    )


@kept_submissions.restores_kept_submission
@require_http_methods(["GET", "POST"])
@permission_required("perform.screen_participant", raise_exception=True)
def participant_decline(request, study_id):
    return _decision_view(
        request,
        study_id,
        form_class=DeclineForm,
        service=services.participant_decline_record,
        template_title="Record that the patient declined",
        done="Decline recorded for {study_id}.",
    )


@require_GET
@permission_required("perform.view_participant", raise_exception=True)
def screening_log(request):
    """The screening log (all screened patients, with exclusion reasons); CSV
    with ``?format=csv``."""
    site_code = request.GET.get("site") or None
    rows = selectors.screening_log(user=request.user, site_code=site_code)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="screening-log.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "study_id",
                "site",
                "screening_date",
                "age",
                "sex",
                "status",
                "ineligibility_reasons",
                "notes",
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    row.study_id,
                    row.site,
                    row.screening_date.isoformat(),
                    row.age,
                    row.sex,
                    row.status,
                    "; ".join(row.reasons),
                    row.notes,
                ]
            )
        return response
    return render(
        request,
        "perform/screening_log.html",
        {
            "rows": rows,
            "sites": selectors.sites_for(request.user),
            "site_code": site_code,
        },
    )


@require_GET
@permission_required("perform.view_screening_summary", raise_exception=True)
def screening_summary(request):
    return render(
        request,
        "perform/screening_summary.html",
        {"summary": selectors.screening_summary(user=request.user)},
    )
