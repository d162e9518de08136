"""Admin: what the workers sent about participants, read-only and scoped to
the participants the user may see (``perform.admin.ParticipantScopedAdmin``).
Case report forms themselves change only through the CRF pages and API."""

from django.contrib import admin

from crf.models import SafetyAlert, VisitReminder
from perform.admin import ParticipantScopedAdmin


@admin.register(VisitReminder)
class VisitReminderAdmin(ParticipantScopedAdmin):
    list_display = [
        "for_date",
        "participant",
        "visit",
        "reason",
        "digest",
        "recipient",
        "email",
    ]
    list_filter = ["digest", "reason", "site"]
    list_select_related = ["participant", "recipient", "email"]
    search_fields = ["participant__study_id", "recipient__username"]


@admin.register(SafetyAlert)
class SafetyAlertAdmin(ParticipantScopedAdmin):
    list_display = ["created_at", "participant", "kind", "late", "email"]
    list_filter = ["kind", "late"]
    list_select_related = ["participant", "email"]
