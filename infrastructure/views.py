"""The e-mail log: every outbox row, its status and attempts (Methods Centre).

A message to a participant (a survey invitation or reminder,
``to_participant``) is listed without its address or number: the log shows
"participant (hidden)", and an error the server gave about the recipient
with the address blanked. Bodies are never shown.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET

from infrastructure.models import OutboundEmail
from infrastructure.outbox import participant_address_hidden
from infrastructure.pagination import paginate


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
@permission_required("infrastructure.view_outboundemail", raise_exception=True)
def email_log(request):
    filters = EmailFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    emails = OutboundEmail.objects.defer("body_text", "body_html")
    if criteria.get("status"):
        emails = emails.filter(status=criteria["status"])
    if criteria.get("kind"):
        emails = emails.filter(kind=criteria["kind"])
    listed = paginate(request, emails)
    for email in listed["page"]:
        participant_address_hidden(email)
    counts = dict(
        OutboundEmail.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    return render(
        request,
        "infrastructure/email_log.html",
        {
            **listed,
            "filters": filters,
            "counts": [
                (value, label, counts.get(value, 0))
                for value, label in OutboundEmail.Status.choices
            ],
        },
    )
