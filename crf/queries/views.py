"""Data query pages: bind a form, call a service, render or redirect.

The form pages post here too (``crf.queries.markers``: answer, close,
re-open and raise from the field): those posts say so (``return_to``) and go
back to the form at the field; a refused one shows this page with the error.

Permissions are checked here and in the services (403), site scope in the
selectors (404 for another site's query or form).
"""

from urllib.parse import urlencode

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from crf.models import DataQuery
from crf.queries import services as queries
from crf.queries.export import query_csv_response
from crf.queries.markers import returns_to_form
from crf.queries.presentation import query_facts, with_facts
from infrastructure.pagination import paginate
from perform.exceptions import TrialError
from perform.selectors import sites_for


def _apply_trial_error(form, error: TrialError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class QueryFilterForm(forms.Form):
    site = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *DataQuery.Status.choices]
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All my sites")] + [
            (s.code, f"{s.code} · {s.name}") for s in sites
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.layout = Layout("site", "status", Submit("", "Filter"))


class QueryRaiseForm(forms.Form):
    field_name = forms.ChoiceField(label="Field", required=False)
    text = forms.CharField(label="Question for the site", widget=forms.Textarea)

    def __init__(self, *args, field_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = field_choices
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Raise query"))


class QueryStepForm(forms.Form):
    """One step of the thread (answer, close, re-open): a message."""

    action = forms.CharField(widget=forms.HiddenInput)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, action, label, button, required=True, **kwargs):
        super().__init__(*args, initial={"action": action}, **kwargs)
        self.fields["text"].label = label
        self.fields["text"].required = required
        self.helper = FormHelper()
        self.helper.form_id = f"query-{action}"
        self.helper.add_input(Submit("submit", button))


STEPS = {
    # action: (permission, service, label, button, text required)
    "answer": (
        "crf.enter_forms",
        queries.query_answer,
        "Your answer",
        "Answer",
        True,
    ),
    "close": (
        "crf.raise_queries",
        queries.query_close,
        "Closing note (optional)",
        "Close query",
        False,
    ),
    "reopen": (
        "crf.raise_queries",
        queries.query_reopen,
        "Why it is re-opened",
        "Re-open query",
        True,
    ),
}


# The message after a step taken on the form's page (``crf.queries.markers``).
STEP_DONE = {
    "answer": "Your answer has been sent: the query is now with the data manager.",
    "close": "The query has been closed.",
    "reopen": "The query has been re-opened for the site.",
}


def _step_form(action, data=None):
    _perm, _service, label, button, required = STEPS[action]
    return QueryStepForm(
        data, action=action, label=label, button=button, required=required
    )


@require_GET
@permission_required("crf.view_forms", raise_exception=True)
def query_list(request):
    filters = QueryFilterForm(request.GET or None, sites=sites_for(request.user))
    criteria = filters.cleaned_data if filters.is_valid() else {}
    qs = queries.query_list(
        user=request.user,
        site_code=criteria.get("site"),
        status=criteria.get("status"),
    )
    if request.GET.get("format") == "csv":
        # Every query the filters select (not one page), in the user's scope.
        return query_csv_response(qs, filename="queries.csv")
    context = paginate(request, qs)
    context["page"].object_list = with_facts(context["page"].object_list)
    # The CSV of what the valid filters select (an invalid one is ignored,
    # as it is by the list).
    chosen = {name: value for name, value in criteria.items() if value}
    context["csv_url"] = "?" + urlencode({**chosen, "format": "csv"})
    return render(request, "crf/query_list.html", {**context, "filters": filters})


@require_http_methods(["GET", "POST"])
@permission_required("crf.view_forms", raise_exception=True)
def query_detail(request, query_id: int):
    data_query = queries.query_get(user=request.user, pk=query_id)
    bound = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in STEPS:
            raise PermissionDenied("Unknown action.")
        perm, service, *_rest = STEPS[action]
        if not request.user.has_perm(perm):
            raise PermissionDenied("Your role may not do this.")
        form = _step_form(action, request.POST)
        if form.is_valid():
            try:
                service(
                    actor=request.user,
                    query=data_query,
                    text=form.cleaned_data["text"],
                )
            except TrialError as error:
                _apply_trial_error(form, error)
            else:
                if returns_to_form(request):
                    messages.success(request, STEP_DONE[action])
                    return redirect(query_facts(data_query).url)
                messages.success(request, "The query has been updated.")
                return redirect("queries:detail", query_id=data_query.pk)
        bound[action] = form
    step_forms = {}
    allowed_now = queries.query_steps_for(request.user, data_query)
    for action, (perm, *_rest) in STEPS.items():
        allowed = action in allowed_now or (
            action in bound and request.user.has_perm(perm)
        )
        step_forms[f"{action}_form"] = (
            (bound.get(action) or _step_form(action)) if allowed else None
        )
    return render(
        request,
        "crf/query_detail.html",
        {
            "query": data_query,
            "thread": data_query.messages.all(),
            "facts": query_facts(data_query),
            **step_forms,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("crf.raise_queries", raise_exception=True)
def query_new(request):
    crf_form = queries.query_form_get(
        user=request.user,
        form_type=request.GET.get("form_type"),
        form_id=request.GET.get("form_id"),
    )
    choices = queries.query_field_choices(crf_form)
    form = QueryRaiseForm(
        request.POST or None,
        field_choices=choices,
        initial={"field_name": request.GET.get("field", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            data_query = queries.query_raise(
                actor=request.user,
                form=crf_form,
                field_name=form.cleaned_data["field_name"],
                text=form.cleaned_data["text"],
            )
        except TrialError as error:
            _apply_trial_error(form, error)
        else:
            messages.success(request, "The query has been raised.")
            if returns_to_form(request):
                return redirect(query_facts(data_query).url)
            return redirect("queries:detail", query_id=data_query.pk)
    return render(
        request,
        "crf/query_form.html",
        {
            "form": form,
            "crf_form": crf_form,
            "form_label": crf_form._meta.verbose_name,
        },
    )
