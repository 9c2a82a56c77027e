"""The read-only admin base (chatplatform/admin.py): the transcript and the audit trail cannot be written."""

import pytest
from django.contrib import admin

from chatplatform.admin import ReadOnlyAdminMixin, ReadOnlyInline

pytestmark = pytest.mark.django_db


def test_the_records_are_read_only_for_a_superuser_too(rf, django_user_model):
    from moderation.models import ModerationEvent
    from visitors.models import Conversation

    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    for model in (Conversation, ModerationEvent):
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ReadOnlyAdminMixin)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
    inlines = admin.site._registry[Conversation].get_inline_instances(request)
    assert inlines and all(isinstance(inline, ReadOnlyInline) for inline in inlines)
    assert not any(inline.has_add_permission(request, None) or inline.has_change_permission(request) for inline in inlines)


# --- each app registers its own admins, once; the higher apps extend them (chatplatform.admin.extensions) ---

import ast  # noqa: E402
import pathlib  # noqa: E402

from django.apps import apps  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402

from chatplatform.admin import AdminExtensions, ExtensibleAdmin, extensions  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _project_apps() -> set[str]:
    return {config.name for config in apps.get_app_configs() if pathlib.Path(config.path).parent == ROOT}


def test_the_scan_knows_the_project_apps():
    assert {"chatplatform", "visitors", "experts", "moderation", "attachments", "analytics"} <= _project_apps()


def test_no_app_unregisters_or_rewrites_a_registered_admin():
    # A re-registration hides an app's ModelAdmin behind another's: extend it through the registry instead.
    found = []
    for app in sorted(_project_apps()):
        for path in sorted((ROOT / app).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("unregister", "_registry"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
    assert not found, found


def test_every_model_admin_is_registered_by_the_models_own_app():
    project = _project_apps()
    foreign = []
    for model, model_admin in admin.site._registry.items():
        registering_app = type(model_admin).__module__.split(".")[0]
        if registering_app in project or model._meta.app_config.name in project:
            if registering_app != model._meta.app_config.name:
                foreign.append(f"{registering_app} registers {model._meta.label}")
    assert not foreign, foreign
    registered = {model._meta.label for model in admin.site._registry}
    # The pages the managers work in are all there (each registered by its own app).
    assert {"visitors.Conversation", "visitors.Visitor", "visitors.Brand", "visitors.Attachment", "experts.ExpertProfile",
            "experts.Topic", "experts.CommunityPost", "experts.ExpertInvitation", "experts.CannedReply",
            "experts.ConversationTransfer", "moderation.Block", "moderation.ReportTicket"} <= registered


def test_moderation_and_attachments_extend_the_lower_apps_pages(rf, django_user_model):
    from experts.models import ExpertProfile
    from moderation.admin import MessageInline as FlaggedMessageInline
    from moderation.admin import ModerationEventInline
    from visitors.models import Attachment, Conversation, Visitor

    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    conversations = admin.site._registry[Conversation]
    assert isinstance(conversations, ExtensibleAdmin)
    assert "block_visitors" in conversations.get_actions(request)
    assert "block_visitors" in admin.site._registry[Visitor].get_actions(request)
    assert {"suspend", "reinstate"} <= set(admin.site._registry[ExpertProfile].get_actions(request))
    assert set(admin.site._registry[Attachment].get_actions(request)) == {"remove_pictures"}
    inlines = conversations.get_inlines(request, None)
    assert inlines == [FlaggedMessageInline, ModerationEventInline]  # the flag badges replace the plain column
    assert "moderation/admin.css" in str(conversations.media)
    # Extended, not copied: the page is still visitors' own class.
    assert type(conversations).__module__ == "visitors.admin"


def test_an_extension_action_is_offered_only_with_its_permissions(rf, django_user_model, monkeypatch):
    from visitors.models import Visitor

    monkeypatch.setattr(extensions, "actions", {})  # this test's registry entries only

    @admin.action(description="Needs a Django permission", permissions=["moderation.add_block"])
    def needs_block(model_admin, request, queryset):
        return None

    @admin.action(description="Needs the page's change permission", permissions=["change"])
    def needs_change(model_admin, request, queryset):
        return None

    extensions.add_actions(Visitor, needs_block, needs_change)
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_visitor"))
    request = rf.get("/admin/visitors/visitor/")
    request.user = staff
    visitors = admin.site._registry[Visitor]
    assert not {"needs_block", "needs_change"} & set(visitors.get_actions(request))  # the Visitor page is never changeable
    staff.user_permissions.add(Permission.objects.get(codename="add_block"))
    request.user = django_user_model.objects.get(pk=staff.pk)  # fresh permission cache
    actions = visitors.get_actions(request)
    assert actions["needs_block"] == (needs_block, "needs_block", "Needs a Django permission")
    assert "needs_change" not in actions
    popup = rf.get("/admin/visitors/visitor/", {"_popup": "1"})
    popup.user = request.user
    assert visitors.get_actions(popup) == {}  # Django's rule: no actions in a popup


def test_an_inline_is_replaced_only_by_a_subclass():
    from visitors.admin import MessageInline

    registry = AdminExtensions()
    with pytest.raises(TypeError):
        registry.replace_inline(MessageInline, ReadOnlyInline)


def test_without_a_scope_provider_every_brand_is_visible(rf, django_user_model, brand, other_brand, monkeypatch):
    from visitors.models import Attachment, Brand

    monkeypatch.setattr(extensions, "scope", None)
    monkeypatch.setattr(extensions, "removers", {})
    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    assert set(admin.site._registry[Brand].get_queryset(request)) == {brand, other_brand}
    # Without the attachments app's remover a picture's files would outlive its row: no delete at all.
    assert not admin.site._registry[Attachment].has_delete_permission(request)


def test_filling_the_registry_twice_shows_nothing_twice(rf, django_user_model, monkeypatch):
    from moderation.admin import extend_admins
    from visitors.models import Conversation

    for table in ("actions", "inlines", "searches", "css"):
        monkeypatch.setattr(extensions, table, {key: list(value) for key, value in getattr(extensions, table).items()})
    extend_admins()  # as a second ModerationConfig.ready would
    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    conversations = admin.site._registry[Conversation]
    inlines = conversations.get_inlines(request, None)
    assert len(inlines) == len(set(inlines)) == 2
    assert str(conversations.media).count("moderation/admin.css") == 1
