"""The outbox in the admin (read-only), and the read-only admin base every app
uses for records that change only through its services."""

from django.contrib import admin

from infrastructure.models import OutboundEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    """The outbox: every e-mail the platform sent, is sending or gave up on."""

    list_display = ["created_at", "kind", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "subject", "to"]
    date_hierarchy = "created_at"

    def get_exclude(self, request, obj=None):
        # A password link in the body would let whoever reads it into the
        # account: such bodies are for their recipient only.
        if obj is not None and obj.holds_credential:
            return ["body_text", "body_html"]
        return super().get_exclude(request, obj)
