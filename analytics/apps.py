from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_group(sender, **kwargs):
    # moderation's own hook runs before this app's permission exists; run it again once it does.
    from moderation.permissions import ensure_community_managers_group

    ensure_community_managers_group()


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        post_migrate.connect(_ensure_group, sender=self)
