"""What several apps' admins share: read-only lists and inlines (a record is read, never edited).

Each app registers its own ModelAdmins; these mixins are the one copy of the
permission overrides that make a page read-only (transcripts, the audit trail,
the visitors' rows). chatplatform imports no app: models are the app's own.
"""

from django.contrib import admin


class ReadOnlyAdminMixin:
    """A ModelAdmin whose rows nobody adds, changes or deletes here (their views still open, read-only)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline list of rows shown as they are: no blank rows to add, nothing to change or delete."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
