from django.contrib import admin

from chatplatform.admin import ReadOnlyAdminMixin, ReadOnlyInline

from .models import Brand, Conversation, Message, Visitor


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class MessageInline(ReadOnlyInline):
    """The transcript, read-only: what was said is never edited."""

    model = Message
    fields = ["seq", "created_at", "author", "author_name", "kind", "text", "flagged"]
    readonly_fields = fields
    ordering = ["seq"]


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "brand", "status", "expert", "visitor", "created_at", "ended_by", "end_reason", "rating_score"]
    list_filter = ["status", "brand", "ended_by", "end_reason"]
    date_hierarchy = "created_at"
    list_select_related = ["brand", "expert", "visitor"]
    readonly_fields = [f.name for f in Conversation._meta.fields] + ["excluded_experts"]
    inlines = [MessageInline]


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "brand", "first_seen", "last_seen"]
    list_filter = ["brand"]
    readonly_fields = ["id", "brand", "nickname", "first_seen", "last_seen", "away_since"]
    # The contact address is not shown: managers see an address only where a visitor put it in a report.
    exclude = ["token_hash", "address_hash", "email", "email_consented_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
