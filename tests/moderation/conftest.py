"""Fixtures the moderation tests share: the proxy setting and a community manager."""

import io

import pytest


@pytest.fixture
def via_proxy(settings):
    """Read the client address from X-Forwarded-For, as behind our own proxy."""
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1


@pytest.fixture
def manager(db, django_user_model):
    from django.core.management import call_command

    call_command("create_community_manager", "carol", password="pw-carol-123", email="carol@example.test", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")
