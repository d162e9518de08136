"""Admin: sites, users and memberships are managed here by the Methods Centre.

Participant-level data are read-only in the admin: they change only through
the services, so no admin edit can bypass the trial rules or the reason for
change. Audit events are shown read-only; the database refuses to update or
delete them in any case (pghistory append-only triggers).
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from perform.models import (
    ConsentRecord,
    EligibilityCriterion,
    OutboundEmail,
    Participant,
    ParticipantStatusChange,
    Site,
    User,
)
from perform.role_admin import account_manageable_by, is_system_owner
from perform.selectors import participants_for


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts. Roles, sites, staff and superuser status are shown, never
    edited, here: they change only on the role pages, through
    ``perform.role_admin`` (separation of duties, a reason, the role history).
    An account is editable only by those ``account_manageable_by`` allows:
    never one's own, and a privileged account by the system owner alone.
    Accounts are deactivated, never deleted (the audit trail points at them).
    """

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
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Account", {"fields": ["is_active", "last_login", "date_joined"]}),
        (
            "Roles (change them on the role page)",
            {"fields": ["roles_link", "role_names", "site_codes", "is_staff",
                        "is_superuser"]},
        ),
        ("E-mail", {"fields": ["receives_visit_reminders", "safety_contact"]}),
    ]  # fmt: skip
    readonly_fields = [
        "roles_link",
        "role_names",
        "site_codes",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
    ]

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

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or account_manageable_by(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def user_change_password(self, request, id, form_url=""):
        """Setting another person's password: the system owner only (everyone
        else resets their own by e-mail); never one's own here."""
        user = self.get_object(request, unquote(id))
        if user is None or not (
            is_system_owner(request.user) and account_manageable_by(request.user, user)
        ):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


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


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    """The outbox: every e-mail the platform sent, is sending or gave up on."""

    list_display = ["created_at", "kind", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "subject", "to"]
    date_hierarchy = "created_at"


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


admin.site.register(TOTPDevice, SecondFactorAdmin)
admin.site.register(StaticDevice, SecondFactorAdmin)
