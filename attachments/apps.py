from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    """Pictures in chat over HTTP: upload, download, and the managers' removal (the rows are visitors.Attachment)."""

    name = "attachments"
    verbose_name = "Pictures"

    def ready(self):
        from .admin import extend_admins

        # The audited removal on the pictures' admin page, which is visitors' (registered there, once).
        extend_admins()
