"""The brands, conversations and visitors in the admin, and the brand scoping and id search other apps' lists reuse.

Registered here once; moderation adds its actions, inlines and searches, the attachments
app the audited removal of pictures, through chatplatform.admin.extensions (filled in their
AppConfig.ready), not by re-registering.
"""

import uuid

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from chatplatform.admin import ExtensibleAdmin, ReadOnlyAdminMixin, ReadOnlyInline, extensions
from chatplatform.links import linkify
from chatplatform.look import AA_NORMAL_TEXT

from . import look
from .forms import BrandForm
from .models import Attachment, Brand, Conversation, Message, Visitor


class ScopedBrandFilter(admin.SimpleListFilter):
    """The brand filter, listing only the brands the manager may see (the stock one lists every brand)."""

    title = "brand"
    parameter_name = "brand__id__exact"  # the stock filter's, so links keep working

    def __init__(self, request, params, model, model_admin):
        self.brand_field = model_admin.brand_field
        if self.brand_field == "brands":
            self.parameter_name = "brands__id__exact"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(str(b.pk), b.name) for b in extensions.limit(Brand.objects.order_by("name"), request.user, "pk")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isascii() or not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.brand_field: int(value)}).distinct()


class BrandScopedAdmin(ExtensibleAdmin):
    """A list a brand-scoped manager sees only their brands' rows of (the scope is moderation.scoping's,
    named in chatplatform.admin.extensions).

    Lists, searches, change pages, history and actions all start from ``get_queryset``;
    a row of another brand is simply not there. The brand filter and the brand
    choices of a form list the visible brands only.
    """

    brand_field = "brand"  # the path from a row to its brand

    def get_queryset(self, request):
        queryset = extensions.limit(super().get_queryset(request), request.user, self.brand_field)
        return queryset.distinct() if "brands" in self.brand_field else queryset

    def get_list_filter(self, request):
        return [ScopedBrandFilter if f in ("brand", "brands") else f for f in super().get_list_filter(request)]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Brand:
            kwargs["queryset"] = extensions.limit(Brand.objects.all(), request.user, "pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Brand:
            kwargs["queryset"] = extensions.limit(Brand.objects.all(), request.user, "pk")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _uuid(term: str):
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


class IdSearchMixin(ExtensibleAdmin):
    """Search a list by what a manager is given: a conversation id (from an alert e-mail), a visitor's
    nickname, and what other apps register (moderation: a report reference). Each list names its lookups;
    an id that is not a UUID matches no id."""

    search_fields = ["pk"]  # shows the search box; the search itself is get_search_results
    search_help_text = "Conversation id, visitor nickname or report reference."
    conversation_lookup = "conversation_id"
    nickname_lookup = "visitor__nickname"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(**{f"{self.nickname_lookup}__icontains": term}) if self.nickname_lookup else Q(pk__in=[])
        conversation_id = _uuid(term)
        if conversation_id is not None:
            match |= Q(**{self.conversation_lookup: conversation_id})
        match |= self.more_search(term, conversation_id)
        registered = self.extension_search(term)
        if registered is not None:
            match |= registered
        return queryset.filter(match), "__" in self.conversation_lookup

    def more_search(self, term: str, as_uuid) -> Q:
        """Whatever else this list finds by (a visitor id, a reference kept in the details)."""
        return Q(pk__in=[])


@admin.register(Brand)
class BrandAdmin(BrandScopedAdmin, admin.ModelAdmin):
    form = BrandForm
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    brand_field = "pk"
    readonly_fields = ["look_preview"]

    @property
    def media(self):
        # Our scripts' catalogue in the manager's language first (read per request), for brand-preview.js's
        # texts; then common.js (the contrast, initials and colours) and the preview's script. All in this
        # property: a class defining `media` gets no media from a `class Media` of its own.
        catalogue = forms.Media(js=[reverse("jsi18n", args=[get_language() or "en"])])
        preview = forms.Media(js=["chat/common.js", "widget/brand-preview.js"], css={"all": ["widget/brand-preview.css"]})
        return catalogue + super().media + preview

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
class ConversationAdmin(BrandScopedAdmin, IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "brand", "status", "expert", "visitor", "created_at", "ended_by", "end_reason", "rating_score"]
    list_filter = ["status", "brand", "ended_by", "end_reason"]
    date_hierarchy = "created_at"
    list_select_related = ["brand", "expert", "visitor"]
    readonly_fields = [f.name for f in Conversation._meta.fields] + ["excluded_experts"]
    inlines = [MessageInline]
    conversation_lookup = "pk"


@admin.register(Visitor)
class VisitorAdmin(BrandScopedAdmin, IdSearchMixin, admin.ModelAdmin):
    list_display = ["__str__", "brand", "first_seen", "last_seen"]
    list_filter = ["brand"]
    readonly_fields = ["id", "brand", "nickname", "first_seen", "last_seen", "away_since"]
    # The contact address is not shown: managers see an address only where a visitor put it in a report.
    exclude = ["token_hash", "address_hash", "email", "email_consented_at"]
    nickname_lookup = "nickname"
    conversation_lookup = "conversations__id"
    search_help_text = "Visitor nickname, conversation id or report reference."

    def more_search(self, term, as_uuid):
        return Q(pk=as_uuid) if as_uuid else Q(pk__in=[])

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(BrandScopedAdmin, admin.ModelAdmin):
    """Pictures, seen by thumbnail; nothing is added or edited here. Removal (the files and the row, the
    message keeps its text, audited) is the attachments app's remover and action, never Django's plain delete."""

    list_display = ("preview", "conversation_link", "uploaded_by", "dimensions", "size", "created_at")
    list_filter = ("uploaded_by",)
    search_fields = ("=conversation__id", "=id")
    ordering = ("-created_at",)
    fields = ("preview", "conversation_link", "uploaded_by", "dimensions", "content_type", "size", "created_at")
    readonly_fields = fields
    brand_field = "conversation__brand"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("conversation")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Without a remover the files would outlive their row.
        return extensions.remover(Attachment) is not None and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # removal goes through the audited action
        return actions

    @admin.display(description="Picture")
    def preview(self, obj):
        # The bare URL: the admin's session is the proof (attachments/views.py).
        return format_html('<a href="{0}" target="_blank" rel="noopener"><img src="{1}" alt="Picture" '
                           'style="max-width:120px;max-height:120px"></a>',
                           reverse("attachment-file", args=[obj.pk]), reverse("attachment-thumbnail", args=[obj.pk]))

    @admin.display(description=_("Conversation"))
    def conversation_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:visitors_conversation_change", args=[obj.conversation_id]),
                           str(obj.conversation_id)[:8])

    @admin.display(description=_("Size (pixels)"))
    def dimensions(self, obj):
        return f"{obj.width} x {obj.height}"
