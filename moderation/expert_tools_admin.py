"""The managers' admin of the experts' tools: each brand's canned replies, and the transfers' trail.

Scoped like every other managers' page (moderation.scoping through BrandScopedAdmin): a
brand-scoped manager sees, adds and edits only their brands' replies. The experts' own
replies are theirs (edited in the dashboard) and are not listed here.
"""

from django import forms
from django.contrib import admin

from chatplatform.errors import ChatError
from experts import canned
from experts.models import CannedReply, ConversationTransfer

from .admin import BrandScopedAdmin, ModerationMedia


class BrandCannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["brand", "title", "text", "position"]
        help_texts = {
            "text": "{visitor} and {expert} are replaced by the visitor's and the expert's names when an expert inserts it.",
            "position": "The experts' picker lists the brand's replies in this order.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].required = True  # a reply of the admin is a brand's, never an expert's

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            canned.check_placeholders(text)
        except ChatError as exc:
            raise forms.ValidationError(exc.detail) from None
        return text


@admin.register(CannedReply)
class CannedReplyAdmin(BrandScopedAdmin, admin.ModelAdmin):
    """A brand's canned replies (seeded from the community charter when the brand is created)."""

    form = BrandCannedReplyForm
    list_display = ["title", "brand", "position", "updated_at"]
    list_filter = ["brand"]
    search_fields = ["title", "text"]
    ordering = ["brand__name", "position", "pk"]
    Media = ModerationMedia

    def get_queryset(self, request):
        return super().get_queryset(request).filter(expert__isnull=True).select_related("brand")


@admin.register(ConversationTransfer)
class ConversationTransferAdmin(BrandScopedAdmin, admin.ModelAdmin):
    """Who handed which conversation to whom (conversation.transfer), with the note: read-only."""

    brand_field = "conversation__brand"
    list_display = ["created_at", "conversation", "from_expert", "to_expert"]
    readonly_fields = ["created_at", "conversation", "from_expert", "to_expert", "note"]
    fields = readonly_fields
    search_fields = ["conversation__id", "from_expert__display_name", "to_expert__display_name"]
    Media = ModerationMedia

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("conversation", "from_expert", "to_expert")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
