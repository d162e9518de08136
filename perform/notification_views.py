"""Each user's own e-mail settings (the reminder opt-out). The e-mail log is
``infrastructure.views``."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from perform import services


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
