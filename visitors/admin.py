from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.safestring import mark_safe

from chatplatform.admin import ReadOnlyAdminMixin, ReadOnlyInline
from chatplatform.links import linkify
from chatplatform.look import AA_NORMAL_TEXT

from . import look
from .forms import BrandForm
from .models import Brand, Conversation, Message, Visitor


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    form = BrandForm
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["look_preview"]

    class Media:
        # common.js: the contrast, initials and colours the preview computes as the fields change.
        js = ["chat/common.js", "widget/brand-preview.js"]
        css = {"all": ["widget/brand-preview.css"]}

    @property
    def media(self):
        # Our scripts' catalogue in the manager's language first (read per request), for brand-preview.js's texts.
        catalogue = forms.Media(js=[reverse("jsi18n", args=[get_language() or "en"])])
        return catalogue + super().media

    @admin.display(description="preview")
    def look_preview(self, obj):
        """The launcher and the widget's header as the brand's visitors will see them; brand-preview.js redraws
        them as the fields change, before saving."""
        brand = obj if obj is not None else Brand(name="Your brand")
        context = {"brand": brand, "look": look.widget_look(brand), "icons": look.LAUNCHER_ICONS,
                   "aa": AA_NORMAL_TEXT}
        return mark_safe(render_to_string("visitors/admin/look_preview.html", context))  # the template escapes

    def save_model(self, request, obj, form, change):
        previous = Brand.objects.filter(pk=obj.pk).values_list("logo", flat=True).first() if change else ""
        super().save_model(request, obj, form, change)
        look.forget_replaced_logo(previous=previous or "", current=obj.logo.name or "")


class MessageInline(ReadOnlyInline):
    """The transcript, read-only: what was said is never edited."""

    model = Message
    fields = ["seq", "created_at", "author", "author_name", "kind", "message_text", "flagged"]
    readonly_fields = fields
    ordering = ["seq"]

    @admin.display(description="text")
    def message_text(self, obj):
        """Escaped, its http(s) URLs as safe links (chatplatform/links.py), line breaks kept."""
        return mark_safe(linkify(obj.text).replace("\n", "<br>"))  # linkify escapes everything else


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
