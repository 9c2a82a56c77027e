"""Fixtures of the account tests: a community manager with a password, the sign-in throttling on."""

import io

import pytest
from django.core.cache import cache

MANAGER_PASSWORD = "pw-carol-123"


@pytest.fixture
def manager(db, django_user_model):
    from django.core.management import call_command

    call_command("create_community_manager", "carol", password=MANAGER_PASSWORD, email="carol@example.test",
                 stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


@pytest.fixture
def throttled(settings):
    """django-axes on (the test settings turn it off for the test client's login()), counts from zero."""
    settings.AXES_ENABLED = True
    cache.clear()
    yield
    cache.clear()
