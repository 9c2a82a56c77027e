from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = "Experts"

    def ready(self):
        from visitors import experts_online, router

        from . import queue, revocation, seeding, services  # revocation: the sign-out receiver; seeding: a new brand's canned replies
        from .selectors import experts_online_counts, shared_experts_online_count

        # The widgets' "n experts online" counts this app's tables: visitors imports no app above it.
        experts_online.count_with(experts_online_counts, shared_experts_online_count)
        # The questions the messaging core says are waiting reach the brands' experts (visitors/signals.py).
        queue.connect_receivers()
        router.route_with(next_expert=services.next_expert)
