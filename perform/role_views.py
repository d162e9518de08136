"""Role pages: who holds which role and site, grants and revocations with a
reason, and the role history (PROTOCOL §2, §12). Every change goes through
``perform.role_admin.role_change``; the page only offers what its rule allows.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from infrastructure.pagination import paginate
from perform import role_admin
from perform.models import RoleChange, Site, User


def _require_role_pages(user) -> None:
    if not (
        user.has_perm("perform.manage_roles")
        or user.has_perm("perform.view_role_history")
    ):
        raise PermissionDenied("You may not see role administration.")


class AccountSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=150, label="Username or surname")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "account-search"
        self.helper.form_class = "row row-cols-lg-auto g-2 align-items-end"
        self.helper.add_input(Submit("", "Search", css_class="btn-secondary"))


class RoleChangeForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (RoleChange.Action.GRANT, "Grant"),
            (RoleChange.Action.REVOKE, "Revoke"),
        ],
        widget=forms.RadioSelect,
        initial=RoleChange.Action.GRANT,
    )
    role = forms.ChoiceField(label="Role or access")
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("code"),
        required=False,
        help_text="For site access only.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="Kept in the role history (e.g. the delegation log entry).",
    )

    def __init__(self, *args, roles: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "Choose…")] + [(r, r) for r in roles]
        self.helper = FormHelper()
        self.helper.form_id = "role-change"
        self.helper.add_input(Submit("save", "Record the change", css_id="role-save"))

    def clean(self):
        data = super().clean()
        if data.get("role") == role_admin.SITE_ACCESS and not data.get("site"):
            self.add_error("site", "Choose the site.")
        return data


@require_GET
def role_accounts(request):
    _require_role_pages(request.user)
    search = AccountSearchForm(request.GET or None)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    return render(
        request,
        "perform/roles/account_list.html",
        {
            "accounts": role_admin.accounts_for_role_admin(
                actor=request.user, search=query
            ),
            "search": search,
            "may_manage": request.user.has_perm("perform.manage_roles"),
        },
    )


@require_http_methods(["GET", "POST"])
def role_account(request, user_id: int):
    _require_role_pages(request.user)
    account = get_object_or_404(User, pk=user_id)
    grantable = role_admin.grantable_roles(actor=request.user, user=account)
    form = RoleChangeForm(
        request.POST if request.method == "POST" else None, roles=grantable
    )
    if request.method == "POST" and not grantable:
        form.add_error(
            None,
            role_admin.role_change_refusal(
                actor=request.user, user=account, role=role_admin.SITE_ACCESS
            )
            or "You may not change this account's roles.",
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            change = role_admin.role_change(
                actor=request.user,
                user=account,
                action=data["action"],
                role=data["role"],
                site=data["site"],
                reason=data["reason"],
            )
        except role_admin.RoleChangeRefused as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.success(request, f"Recorded: {change}.")
            return redirect("role_account", user_id=account.pk)
    return render(
        request,
        "perform/roles/account_detail.html",
        {
            "account": role_admin.account_roles(actor=request.user, user=account),
            "form": form,
            "grantable": grantable,
            "refusal": None
            if grantable
            else role_admin.role_change_refusal(
                actor=request.user, user=account, role=role_admin.SITE_ACCESS
            ),
            "changes": role_admin.role_history(user=account)[:20],
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@require_GET
def role_history(request):
    _require_role_pages(request.user)
    changes = role_admin.role_history()
    return render(request, "perform/roles/history.html", paginate(request, changes))
