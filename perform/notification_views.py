"""E-mail pages: each user's reminder opt-out, and the Methods Centre's log of
every e-mail the platform sent, is sending, or gave up on (the outbox)."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from perform import services
from perform.models import OutboundEmail

PAGE_SIZE = 50


class NotificationSettingsForm(forms.Form):
    receives_visit_reminders = forms.BooleanField(
        required=False,
        label="Send me the visit reminder digest",
        help_text="Site staff: a daily e-mail of visits opening, closing and "
        "overdue at your sites. Methods Centre: a weekly e-mail of overdue "
        "visits and open queries.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "notification-settings"
        self.helper.add_input(Submit("save", "Save", css_id="save-notifications"))


@require_http_methods(["GET", "POST"])
def notification_settings(request):
    user = request.user
    # Not ``request.POST or None``: unticking the only field posts nothing,
    # and an empty POST must still be bound (it means "opt out").
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"receives_visit_reminders": user.receives_visit_reminders},
    )
    if request.method == "POST" and form.is_valid():
        wanted = form.cleaned_data["receives_visit_reminders"]
        services.user_notifications_set(actor=user, receives_visit_reminders=wanted)
        messages.success(
            request,
            "You will receive the visit reminder digest."
            if wanted
            else "You will no longer receive the visit reminder digest.",
        )
        return redirect("notification_settings")
    return render(
        request,
        "perform/notification_settings.html",
        {"form": form, "safety_contact": user.safety_contact},
    )


class EmailFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *OutboundEmail.Status.choices]
    )
    kind = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "email-filter"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.add_input(Submit("", "Show", css_class="btn-secondary"))


@require_GET
@permission_required("perform.view_outboundemail", raise_exception=True)
def email_log(request):
    filters = EmailFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    emails = OutboundEmail.objects.defer("body_text", "body_html")
    if criteria.get("status"):
        emails = emails.filter(status=criteria["status"])
    if criteria.get("kind"):
        emails = emails.filter(kind=criteria["kind"])
    counts = dict(
        OutboundEmail.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    page = Paginator(emails, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "perform/email_log.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "counts": [
                (value, label, counts.get(value, 0))
                for value, label in OutboundEmail.Status.choices
            ],
        },
    )
