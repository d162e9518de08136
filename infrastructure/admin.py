"""The outbox in the admin (read-only), and the read-only admin base every app
uses for records that change only through its services."""

from django.contrib import admin
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from infrastructure.models import OutboundEmail
from infrastructure.outbox import participant_address_hidden


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
    # ``to`` and ``last_error`` are shown through these, which hide a
    # participant's address or number (``to_participant``: survey messages).
    readonly_fields = ["recipients", "error"]

    def get_exclude(self, request, obj=None):
        # A password link in the body would let whoever reads it into the
        # account: such bodies are for their recipient only. A survey link is
        # the participant's own too.
        exclude = ["to", "last_error"]
        if obj is not None and (obj.holds_credential or obj.to_participant):
            exclude += ["body_text", "body_html"]
        return exclude

    @admin.display(description="To")
    def recipients(self, obj):
        return participant_address_hidden(obj).to_shown

    @admin.display(description="Last error")
    def error(self, obj):
        return participant_address_hidden(obj).error_shown

    def get_search_results(self, request, queryset, search_term):
        """A participant's address is no search key: their rows match on key
        and subject only (else a search would confirm an address)."""
        if not search_term:
            return super().get_search_results(request, queryset, search_term)
        staff, duplicates = super().get_search_results(
            request, queryset.filter(to_participant=False), search_term
        )
        participants = queryset.filter(to_participant=True)
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                bit = unescape_string_literal(bit)
            participants = participants.filter(
                Q(key__icontains=bit) | Q(subject__icontains=bit)
            )
        return staff | participants, duplicates
