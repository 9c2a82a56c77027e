"""Pictures in the managers' admin: seen by thumbnail, removed (audited) when they break the rules.

Only the brands a manager may see (moderation.scoping). Nothing is added or
edited here; "Remove" deletes the files and the row (the message keeps its
text) and records a ModerationEvent, never Django's plain delete.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation import scoping
from visitors.models import Attachment

from . import services


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("preview", "conversation_link", "uploaded_by", "dimensions", "size", "created_at")
    list_filter = ("uploaded_by",)
    search_fields = ("=conversation__id", "=id")
    ordering = ("-created_at",)
    actions = ["remove_pictures"]
    fields = ("preview", "conversation_link", "uploaded_by", "dimensions", "content_type", "size", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return scoping.limit(super().get_queryset(request).select_related("conversation"), request.user, "conversation__brand")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # removal goes through the audited action
        return actions

    def delete_model(self, request, obj):
        services.remove_attachment(user=request.user, attachment=obj, reason="removed from its page in the admin")

    def delete_queryset(self, request, queryset):
        for attachment in queryset:
            self.delete_model(request, attachment)

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

    @admin.action(description=_("Remove the selected pictures (audited)"), permissions=["delete"])
    def remove_pictures(self, request, queryset):
        count = 0
        for attachment in queryset:
            services.remove_attachment(user=request.user, attachment=attachment, reason="removed from the admin list")
            count += 1
        self.message_user(request, ngettext("%(count)d picture removed.", "%(count)d pictures removed.", count) % {"count": count},
                          messages.SUCCESS)
