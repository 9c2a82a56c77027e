from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_group(sender, **kwargs):
    from .permissions import ensure_community_managers_group

    ensure_community_managers_group()


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        # After every migrate, the "Community managers" group holds exactly its permissions.
        post_migrate.connect(_ensure_group, sender=self)
        from . import revocation  # noqa: F401 - connects the receivers that make live feeds re-check rights
        from .admin import extend_admins

        # Brand scoping, block / suspend actions, the moderation history on the other apps' admin pages
        # (chatplatform.admin.extensions): each app registers its own ModelAdmins once.
        extend_admins()
