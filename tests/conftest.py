"""Shared fixtures: brand → topic → experts → sockets, and the services switch.

Tests that need PostgreSQL, Redis or Chromium skip when those are absent,
unless REQUIRE_SERVICES=1 (CI), where a missing one fails the run instead.
"""

import os
import shutil

import pytest
from channels.layers import get_channel_layer

from tests import support

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    missing = {
        "postgres": None if support.using_postgres() else "needs DATABASE_URL pointing at PostgreSQL",
        "redis": None if support.redis_url() else "needs Redis (set REDIS_URL)",
        "browser": support.browser_missing(),
        "gettext": None if shutil.which("xgettext") else "needs GNU gettext (xgettext) to extract the strings",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if REQUIRE_SERVICES:
                    item.user_properties.append(("missing", reason))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def translation_catalogues():
    """The compiled .mo files (git-ignored), as `make install` builds them, for a run started without make."""
    from django.core.management import call_command

    call_command("build_catalogues", verbosity=0)


def pytest_runtest_setup(item):
    for name, reason in item.user_properties:
        if name == "missing":
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, dropped at the end even when other sessions still hold it.

    A connection left open (a server process's, a database thread's) made PostgreSQL refuse
    the DROP ("is being accessed by other users"): a test database was left behind each run.
    """
    yield
    if not support.using_postgres():
        return
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        connection.close()


@pytest.fixture(autouse=True)
async def _fresh_channel_layer():
    """Each test gets a channel layer of its own, on its own event loop, and empty.

    A layer kept from an earlier test holds connections and locks bound to that
    test's (closed) loop; with Redis, reusing it fails with "bound to a different
    event loop".
    """
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        await layer.flush()
    yield
    if hasattr(layer, "flush"):
        await layer.flush()
    if hasattr(layer, "close_pools"):
        await layer.close_pools()
    channel_layers.backends.pop("default", None)
    from chatplatform import asyncdb

    await asyncdb.close()  # the hot path's connections on this test's loop


@pytest.fixture
def brand(db):
    from visitors.models import Brand

    return Brand.objects.create(slug="acme", name="Acme Outdoor", allowed_origins="https://shop.acme.test")


@pytest.fixture
def other_brand(db):
    from visitors.models import Brand

    return Brand.objects.create(slug="globex", name="Globex", allowed_origins="https://globex.test")


@pytest.fixture
def topic(brand):
    from experts.models import Topic

    return Topic.objects.create(brand=brand, slug="sizing", name="Sizing and fit")


@pytest.fixture
def make_expert(db):
    from django.contrib.auth import get_user_model

    from experts.models import ExpertProfile

    def make(username="alice", *, brands=(), capacity=3, display_name=None):
        user = get_user_model().objects.create_user(username=username, password="pw-" + username)
        profile = ExpertProfile.objects.create(user=user, display_name=display_name or username.title(), capacity=capacity)
        profile.brands.set(brands)
        return profile

    return make


@pytest.fixture
def alice(make_expert, brand):
    return make_expert("alice", brands=[brand])


@pytest.fixture
def bob(make_expert, brand):
    return make_expert("bob", brands=[brand])


@pytest.fixture
async def connect():
    """Factory: ``await connect.visitor(...)`` and ``await connect.expert(profile)``."""
    factory = support.SocketFactory()
    yield factory
    await factory.close_all()



@pytest.fixture(autouse=True)
def _outbound_frames_as_declared():
    """Every frame a socket sent in the test was one it declares, in its declared shape (CHAT_CHECK_FRAMES)."""
    from chatplatform import protocol

    protocol.outbound_violations.clear()
    yield
    violations, protocol.outbound_violations[:] = list(protocol.outbound_violations), []
    assert not violations, violations


@pytest.fixture
def admin_client(admin_client, admin_user):
    """pytest-django's superuser client, as having passed two-factor sign-in (required of superusers)."""
    support.pass_two_factor(admin_client, admin_user)
    return admin_client


@pytest.fixture
def captured_events(monkeypatch):
    """Every event the services hand to the channel layer, as (group, event)."""
    from chatplatform import events

    captured = []
    real = events._send_now

    def capture(groups, event, **options):
        for group in groups:
            captured.append({"group": group, "event": event})
        real(groups, event, **options)

    monkeypatch.setattr(events, "_send_now", capture)
    return captured


@pytest.fixture(scope="session", autouse=True)
def _database_threads_closed(django_db_setup, django_db_blocker):
    """The sockets' database threads let go of the test database before it is dropped."""
    yield
    from chatplatform import db

    db.shutdown()
