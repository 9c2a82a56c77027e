from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    """Pictures in chat over HTTP: upload, download, and the managers' removal (the rows are visitors.Attachment)."""

    name = "attachments"
    verbose_name = "Pictures"
