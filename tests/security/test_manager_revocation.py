"""A community manager who loses the right to moderate loses the live feed, and cannot acknowledge alerts.

The feed re-checks the manager's rights when they change and at every
heartbeat (moderation/consumers.py, moderation/revocation.py); before, a
manager removed from the group or from staff kept the feed open, kept
receiving alerts, and could still acknowledge them.
"""

import pytest
from channels.db import database_sync_to_async

from moderation.models import Alert
from moderation.permissions import COMMUNITY_MANAGERS
from tests.security.test_revocation import expert_socket, manager_feed, session_of

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_for_lost_rights(feed, code=4403):
    assert (await feed.recv_type("error", timeout=2))["code"] == "forbidden"
    return await feed.closed_with(timeout=2) == code


async def test_removing_a_manager_from_the_group_closes_the_feed_at_once(connect, db, django_user_model):
    _, carol, feed, _ = await manager_feed(connect, django_user_model)
    await database_sync_to_async(lambda: carol.groups.remove(carol.groups.get(name=COMMUNITY_MANAGERS)))()
    assert await closed_for_lost_rights(feed)


async def test_removing_a_manager_from_staff_closes_the_feed_at_once(connect, db, django_user_model):
    _, carol, feed, _ = await manager_feed(connect, django_user_model)

    def demote():
        carol.is_staff = False
        carol.save()

    await database_sync_to_async(demote)()
    assert await closed_for_lost_rights(feed)


async def test_taking_the_permission_from_the_group_closes_every_feed(connect, db, django_user_model):
    from django.contrib.auth.models import Group, Permission

    _, _, feed, _ = await manager_feed(connect, django_user_model)

    def strip():
        group = Group.objects.get(name=COMMUNITY_MANAGERS)
        group.permissions.remove(Permission.objects.get(codename="moderate"))

    await database_sync_to_async(strip)()
    assert await closed_for_lost_rights(feed)


async def test_a_change_no_signal_sees_closes_the_feed_at_the_next_heartbeat(connect, db, django_user_model, settings):
    settings.CHAT_PRESENCE_HEARTBEAT_SECONDS = 0.3
    _, carol, feed, _ = await manager_feed(connect, django_user_model)
    await database_sync_to_async(lambda: django_user_model.objects.filter(pk=carol.pk).update(is_staff=False))()
    assert await closed_for_lost_rights(feed)


async def test_an_acknowledgement_after_the_rights_went_is_refused_and_closes_the_feed(connect, brand, django_user_model):
    _, carol, feed, _ = await manager_feed(connect, django_user_model)
    alert = await database_sync_to_async(Alert.objects.create)(brand=brand, kind="expert", note="help")
    # Taken without a signal, between two heartbeats: the acknowledgement itself must check.
    await database_sync_to_async(lambda: carol.groups.through.objects.filter(user_id=carol.pk).delete())()
    await feed.send({"type": "alert.ack", "alert": str(alert.pk)})
    assert await closed_for_lost_rights(feed)
    assert (await database_sync_to_async(Alert.objects.get)(pk=alert.pk)).status == "open"


async def test_deactivating_an_experts_user_closes_the_experts_socket_at_once(connect, brand, alice):
    _, cookie = await session_of(alice.user, "pw-alice")
    socket = await expert_socket(connect, cookie)

    def deactivate():
        alice.user.is_active = False
        alice.user.save()

    await database_sync_to_async(deactivate)()
    assert (await socket.recv_type("error", timeout=2))["code"] == "forbidden"
    assert await socket.closed_with(timeout=2) == 4401
