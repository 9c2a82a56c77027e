from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = "Experts"

    def ready(self):
        from . import revocation  # noqa: F401 - connects the sign-out receiver
        from . import seeding  # noqa: F401 - a new brand gets the charter's canned replies
