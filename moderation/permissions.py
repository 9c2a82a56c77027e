"""The "Community managers" group and exactly the permissions it holds."""

from django.contrib.auth.models import Group, Permission

COMMUNITY_MANAGERS = "Community managers"

# app_label -> codenames. Managers read conversations and people, act on
# moderation records; they never delete transcripts or edit the audit trail.
# ``add_block`` is blocking a visitor from the admin (the "Block the visitor" actions).
GROUP_PERMISSIONS = {
    # Pictures: seen, and removed (audited) when they break the rules (the page in visitors/admin.py, the removal attachments/admin.py adds).
    "visitors": ["view_brand", "change_brand", "view_conversation", "view_message", "view_visitor",
                 "view_attachment", "delete_attachment"],
    "experts": [
        "view_expertprofile", "change_expertprofile", "view_topic",
        # The experts' community panel: read it, take down what breaks the rules.
        "view_communitypost", "delete_communitypost", "view_communityreply", "delete_communityreply",
        # Each brand's canned replies (the experts' own are theirs); the transfers' trail, read only.
        "view_cannedreply", "add_cannedreply", "change_cannedreply", "delete_cannedreply",
        "view_conversationtransfer",
        # Inviting experts by e-mail (experts/invitations.py); "change" is resending or revoking one.
        "add_expertinvitation", "view_expertinvitation", "change_expertinvitation",
    ],
    "moderation": [
        "moderate",
        "view_alert", "change_alert",
        "view_block", "add_block", "change_block",
        "view_reportticket", "change_reportticket",
        "view_moderationevent",
    ],
    # /admin/analytics/ (the analytics app), limited to the manager's brands like everything else.
    "analytics": ["view_analytics"],
}


def ensure_community_managers_group() -> Group:
    group, _ = Group.objects.get_or_create(name=COMMUNITY_MANAGERS)
    wanted = []
    for app_label, codenames in GROUP_PERMISSIONS.items():
        wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    group.permissions.set(wanted)
    return group
