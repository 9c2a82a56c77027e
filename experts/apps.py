from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = "Experts"

    def ready(self):
        from visitors import experts_online

        from . import revocation  # noqa: F401 - connects the sign-out receiver
        from .selectors import experts_online_counts, shared_experts_online_count

        # The widgets' "n experts online" counts this app's tables: visitors imports no app above it.
        experts_online.count_with(experts_online_counts, shared_experts_online_count)
