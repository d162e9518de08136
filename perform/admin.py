"""Admin: sites, users and memberships are managed here by the Methods Centre.

Participant-level data are read-only in the admin: they change only through
the services, so no admin edit can bypass the trial rules or the reason for
change. Audit events are shown read-only; the database refuses to update or
delete them in any case (pghistory append-only triggers).
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from infrastructure.admin import ReadOnlyAdmin
from perform.mfa import second_factor_reset
from perform.models import (
    ConsentRecord,
    EligibilityCriterion,
    Participant,
    ParticipantStatusChange,
    Site,
    User,
)
from perform.role_admin import (
    account_email_change_notify,
    account_manageable_by,
    account_password_link_send,
    account_password_prepare,
    is_system_owner,
)
from perform.selectors import participants_for


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "country",
        "time_zone",
        "activation_date",
        "target_enrolment",
        "is_active",
    ]
    list_filter = ["is_active", "country"]
    search_fields = ["code", "name"]
    readonly_fields = ["last_participant_number"]

    def has_delete_permission(self, request, obj=None):
        return False


class AccountCreationForm(forms.ModelForm):
    """A new account: who it is, never a password (the holder chooses it
    through the e-mailed link, ``role_admin.account_password_link_send``)."""

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields[
            "email"
        ].help_text = "The holder receives a link here to choose a password."


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts. Roles, sites, staff, superuser and safety-contact status are
    shown, never edited, here: they change only on the role pages, through
    ``perform.role_admin`` (separation of duties, a reason, the role history).
    An account is editable only by those ``account_manageable_by`` allows:
    never one's own, and a privileged account by the system owner alone; its
    username and e-mail (where reset links go) by the system owner alone, and
    the old address is told of a change. Nobody sets another person's password:
    new accounts and lost passwords get a link by e-mail. Accounts are
    deactivated, never deleted (the audit trail points at them).
    """

    add_form = AccountCreationForm
    add_fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "email"]}),
    ]
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
    ]
    list_filter = ["is_active", "is_staff", "groups", "safety_contact"]
    fieldsets = [
        (None, {"fields": ["username"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Account", {"fields": ["is_active", "last_login", "date_joined"]}),
        (
            "Roles (change them on the role page)",
            {"fields": ["roles_link", "role_names", "site_codes", "is_staff",
                        "is_superuser", "safety_contact"]},
        ),
        ("E-mail", {"fields": ["receives_visit_reminders"]}),
    ]  # fmt: skip
    readonly_fields = [
        "roles_link",
        "role_names",
        "site_codes",
        "is_staff",
        "is_superuser",
        "safety_contact",
        "last_login",
        "date_joined",
    ]
    actions = ["send_password_link"]

    @admin.display(description="Roles")
    def role_names(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all())) or "—"

    @admin.display(description="Sites")
    def site_codes(self, obj):
        return ", ".join(sorted(s.code for s in obj.sites.all())) or "—"

    @admin.display(description="Role page")
    def roles_link(self, obj):
        if obj.pk is None:
            return "Save the account first, then give it roles on the role page."
        url = reverse("role_account", args=[obj.pk])
        return format_html('<a href="{}">Roles, sites and history</a>', url)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not is_system_owner(request.user):
            fields += ["username", "email"]
        return fields

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or account_manageable_by(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            account_password_prepare(obj)
            super().save_model(request, obj, form, change)
            account_password_link_send(user=obj, new_account=True)
            return
        old_email = (
            User.objects.filter(pk=obj.pk).values_list("email", flat=True).first()
        )
        super().save_model(request, obj, form, change)
        account_email_change_notify(
            actor=request.user, user=obj, old_email=old_email or ""
        )

    def user_change_password(self, request, id, form_url=""):
        """Nobody sets another person's password here, the system owner
        included (it would let them log in as that person): send the account
        a link instead (the list's action)."""
        raise PermissionDenied

    @admin.action(description="E-mail a link to choose a new password")
    def send_password_link(self, request, queryset):
        sent = 0
        for user in queryset:
            if account_manageable_by(request.user, user):
                account_password_link_send(user=user, new_account=False)
                sent += 1
        self.message_user(
            request, f"{sent} link{'s' if sent != 1 else ''} to choose a password sent."
        )


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyAdmin):
    """Role groups: their permissions are code (perform.roles, set after
    every migrate), so nobody edits them here."""

    list_display = ["name"]
    filter_horizontal = ["permissions"]


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "order", "text", "is_active"]
    list_filter = ["kind", "is_active"]

    def has_delete_permission(self, request, obj=None):
        return False


class ParticipantScopedAdmin(ReadOnlyAdmin):
    """Read-only, and only the participants the user may see (the selector)."""

    participant_path = "participant"

    def get_queryset(self, request):
        scope = participants_for(request.user)
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.participant_path}__in": scope})
        )


@admin.register(Participant)
class ParticipantAdmin(ParticipantScopedAdmin):
    list_display = ["study_id", "site", "status", "screening_date"]
    list_filter = ["status", "site"]
    search_fields = ["study_id"]

    def get_queryset(self, request):
        return participants_for(request.user)


@admin.register(ParticipantStatusChange)
class ParticipantStatusChangeAdmin(ParticipantScopedAdmin):
    list_display = [
        "participant",
        "from_status",
        "to_status",
        "changed_at",
        "changed_by",
    ]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ParticipantScopedAdmin):
    list_display = ["participant", "decision", "decision_date", "form_version"]


# Second factors (django-otp). The library's admin shows a device's secret (its
# QR code) to anyone who may view it, which would let a viewer clone another
# person's authenticator. Here the system owner alone sees who has which
# device, and resets a lost one by deleting it (the user sets up a new one at
# the next log-in); nobody sees a key. Deletions are in the admin log.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class SecondFactorAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "confirmed"]
    fields = ["user", "name", "confirmed"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]

    def has_module_permission(self, request):
        return is_system_owner(request.user)

    def has_view_permission(self, request, obj=None):
        return is_system_owner(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_system_owner(request.user) and (
            obj is None or obj.user_id != request.user.pk
        )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        second_factor_reset(user=obj.user)

    def delete_queryset(self, request, queryset):
        users = {device.user for device in queryset.select_related("user")}
        super().delete_queryset(request, queryset)
        for user in users:
            second_factor_reset(user=user)


admin.site.register(TOTPDevice, SecondFactorAdmin)
admin.site.register(StaticDevice, SecondFactorAdmin)
