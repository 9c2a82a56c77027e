"""Pictures in the managers' admin: the audited removal this app adds to the pictures' page.

The page is visitors' (visitors/admin.py: the rows are visitors.Attachment, seen by
thumbnail, limited to a manager's brands). This app names, in AttachmentsConfig.ready,
how a picture is removed: the files and the row go (the message keeps its text) and a
ModerationEvent records it, never Django's plain delete.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from chatplatform.admin import extensions
from visitors.models import Attachment

from . import services


def _remove(request, attachment):
    services.remove_attachment(user=request.user, attachment=attachment, reason="removed from its page in the admin")


@admin.action(description=_("Remove the selected pictures (audited)"), permissions=["delete"])
def remove_pictures(model_admin, request, queryset):
    count = 0
    for attachment in queryset:
        services.remove_attachment(user=request.user, attachment=attachment, reason="removed from the admin list")
        count += 1
    model_admin.message_user(request, ngettext("%(count)d picture removed.", "%(count)d pictures removed.", count) % {"count": count},
                             messages.SUCCESS)


def extend_admins() -> None:
    """Fill chatplatform.admin.extensions (AttachmentsConfig.ready)."""
    extensions.delete_with(Attachment, _remove)
    extensions.add_actions(Attachment, remove_pictures)
