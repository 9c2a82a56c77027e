"""Pictures in the managers' admin: the audited removal this app adds to the pictures' page.

The page is visitors' (visitors/admin.py: the rows are visitors.Attachment, seen by
thumbnail, limited to a manager's brands). This app names, in AttachmentsConfig.ready,
how a picture is removed: the files and the row go (the message keeps its text) and a
ModerationEvent records it, never Django's plain delete.
"""

from django.contrib import admin, messages

from chatplatform.admin import extensions
from visitors.models import Attachment

from . import services


def _remove(request, attachment):
    services.remove_attachment(user=request.user, attachment=attachment, reason="removed from its page in the admin")


@admin.action(description="Remove the selected pictures (audited)", permissions=["delete"])
def remove_pictures(model_admin, request, queryset):
    count = 0
    for attachment in queryset:
        services.remove_attachment(user=request.user, attachment=attachment, reason="removed from the admin list")
        count += 1
    model_admin.message_user(request, f"{count} picture(s) removed.", messages.SUCCESS)


def extend_admins() -> None:
    """Fill chatplatform.admin.extensions (AttachmentsConfig.ready)."""
    extensions.delete_with(Attachment, _remove)
    extensions.add_actions(Attachment, remove_pictures)
