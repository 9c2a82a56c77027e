"""What several apps' admins share: read-only lists and inlines (a record is read, never edited).

Each app registers its own ModelAdmins; these mixins are the one copy of the
permission overrides that make a page read-only (transcripts, the audit trail,
the visitors' rows). ``extensions`` is how a higher app adds to a lower app's
pages (below). chatplatform imports no app: models are the app's own.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR


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


# --- extension points: what a higher app adds to a lower app's admin pages ------------------------
#
# Each app registers its own ModelAdmins exactly once (tests/chatplatform/test_admin.py). An app
# above (moderation, attachments) adds to them without re-registering: its AppConfig.ready fills
# this registry, and the lower app's ModelAdmin (an ExtensibleAdmin) reads it per request. Requests
# come after every ready(), so the order of INSTALLED_APPS does not matter.


def _add(table: dict, model, items) -> None:
    # Idempotent, so a second ready() (a test re-running it) shows nothing twice.
    entries = table.setdefault(model._meta.label, [])
    entries.extend(item for item in items if item not in entries)


class AdminExtensions:
    """The registry: one brand-scope provider, and per model extra actions, inlines, search, styles, remover.

    Models are keyed by their label ("visitors.Conversation"), so the registry holds no model class.
    """

    def __init__(self):
        self.scope = None  # has limit(queryset, user, field) and brand_ids_for(user); None: every brand visible
        self.actions: dict[str, list] = {}
        self.inlines: dict[str, list] = {}
        self.inline_replacements: dict[type, type] = {}
        self.searches: dict[str, list] = {}
        self.css: dict[str, list[str]] = {}
        self.removers: dict[str, object] = {}

    def scope_brands_with(self, provider) -> None:
        """Name who decides which brands a staff user sees (moderation.scoping); one provider for the site."""
        self.scope = provider

    def add_actions(self, model, *actions) -> None:
        """Changelist actions ``func(model_admin, request, queryset)`` (``@admin.action``). Their
        ``permissions`` name a ModelAdmin check ("change": ``has_change_permission``) or, dotted, a
        Django permission the user must hold ("moderation.add_block")."""
        _add(self.actions, model, actions)

    def add_inlines(self, model, *inlines) -> None:
        _add(self.inlines, model, inlines)

    def replace_inline(self, inline, by) -> None:
        """Show ``by`` (a subclass of ``inline``, with more columns) wherever ``inline`` is listed."""
        if not issubclass(by, inline):
            raise TypeError(f"{by.__name__} must subclass {inline.__name__}")
        self.inline_replacements[inline] = by

    def add_search(self, model, hook) -> None:
        """``hook(model_admin, term) -> Q``: more rows a changelist search finds (OR-ed with the app's own)."""
        _add(self.searches, model, [hook])

    def add_css(self, model, *paths: str) -> None:
        _add(self.css, model, paths)

    def delete_with(self, model, remover) -> None:
        """``remover(request, obj)`` replaces Django's plain delete of ``model``'s rows (an audited removal)."""
        self.removers[model._meta.label] = remover

    def remover(self, model):
        return self.removers.get(model._meta.label)

    # -- read by the ModelAdmins --

    def limit(self, queryset, user, field: str):
        return queryset if self.scope is None else self.scope.limit(queryset, user, field)

    def brand_ids_for(self, user):
        """The ids of the brands ``user`` may see; None for all of them."""
        return None if self.scope is None else self.scope.brand_ids_for(user)


extensions = AdminExtensions()


def _allowed(model_admin, request, action) -> bool:
    for permission in getattr(action, "allowed_permissions", ()):
        if "." in permission:
            if not request.user.has_perm(permission):
                return False
        elif not getattr(model_admin, f"has_{permission}_permission")(request):
            return False
    return True


class ExtensibleAdmin:
    """A ModelAdmin mixin that adds what the registry holds for its model (actions, inlines, search, CSS,
    the remover its delete goes through)."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions  # Django's own "no actions here"
        for action in extensions.actions.get(self.model._meta.label, ()):
            if _allowed(self, request, action):
                actions[action.__name__] = (action, action.__name__, getattr(action, "short_description", action.__name__))
        return actions

    def get_inlines(self, request, obj):
        inlines = [extensions.inline_replacements.get(inline, inline) for inline in super().get_inlines(request, obj)]
        return [*inlines, *extensions.inlines.get(self.model._meta.label, ())]

    def extension_search(self, term: str):
        """The registered hooks' matches for ``term``, OR-ed; None when no hook is registered."""
        match = None
        for hook in extensions.searches.get(self.model._meta.label, ()):
            found = hook(self, term)
            match = found if match is None else match | found
        return match

    def delete_model(self, request, obj):
        remover = extensions.remover(self.model)
        if remover is None:
            return super().delete_model(request, obj)
        remover(request, obj)

    def delete_queryset(self, request, queryset):
        remover = extensions.remover(self.model)
        if remover is None:
            return super().delete_queryset(request, queryset)
        for obj in queryset:
            remover(request, obj)

    @property
    def media(self):
        css = extensions.css.get(self.model._meta.label)
        return super().media + forms.Media(css={"all": css}) if css else super().media
