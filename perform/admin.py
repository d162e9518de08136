"""Admin: sites, users and memberships are managed here by the Methods Centre.

Participant-level data are read-only in the admin: they change only through
the services, so no admin edit can bypass the trial rules or the reason for
change. Audit events are shown read-only; the database refuses to update or
delete them in any case (pghistory append-only triggers).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from perform.models import (
    ConsentRecord,
    EligibilityCriterion,
    OutboundEmail,
    Participant,
    ParticipantStatusChange,
    Site,
    SiteMembership,
    User,
)
from perform.selectors import participants_for


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 1
    autocomplete_fields = ["site"]


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
    inlines = [SiteMembershipInline]
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
        *DjangoUserAdmin.fieldsets,
        ("E-mail", {"fields": ["receives_visit_reminders", "safety_contact"]}),
    ]


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
