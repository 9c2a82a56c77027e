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
