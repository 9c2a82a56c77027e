"""Revocation: an expert who loses the right to chat loses their open sockets at once."""

import asyncio
import io
import time

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from tests.support import client_id, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_client(user, password):
    from django.test import Client

    from chatplatform import mfa
    from tests.support import pass_two_factor

    client = Client()
    assert client.login(username=user.username, password=password)
    if mfa.required(user):  # a manager: as having passed two-factor sign-in too
        pass_two_factor(client, user)
    return client


async def expert_socket(connect, cookie_value, expect_welcome=True):
    headers = [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie_value}".encode()),
               (b"origin", b"http://testserver"), (b"host", b"testserver")]
    socket, connected, _ = await connect.raw("/ws/v1/expert/", headers)
    if expect_welcome:
        assert connected
        socket.welcome = await socket.recv()
        assert socket.welcome["type"] == "welcome"
    return socket


async def session_of(user, password):
    client = await database_sync_to_async(signed_in_client)(user, password)
    return client, client.cookies[django_settings.SESSION_COOKIE_NAME].value


async def assert_closed_and_stays_out(connect, socket, cookie, code):
    assert (await socket.recv_type("error", timeout=2))["code"] == "forbidden"
    assert await socket.closed_with(timeout=2) == code
    again = await expert_socket(connect, cookie, expect_welcome=False)
    assert await again.closed_with() in {4401, 4403}


async def test_signing_out_closes_the_experts_open_sockets(connect, brand, alice):
    # Guards against: sessions that outlive logout on long-lived websockets (insufficient session expiration).
    client, cookie = await session_of(alice.user, "pw-alice")
    tabs = [await expert_socket(connect, cookie), await expert_socket(connect, cookie)]
    response = await database_sync_to_async(client.post)("/logout/")
    assert response.status_code == 302
    for tab in tabs:
        assert (await tab.recv_type("error", timeout=2))["code"] == "forbidden"
        assert await tab.closed_with(timeout=2) == 4401
    again = await expert_socket(connect, cookie, expect_welcome=False)
    assert await again.closed_with() == 4401


async def test_a_password_change_closes_sockets_opened_with_the_old_session(connect, brand, alice):
    # Guards against: a stolen session staying usable on an open socket after the victim changes their password.
    _, cookie = await session_of(alice.user, "pw-alice")
    socket = await expert_socket(connect, cookie)

    def change():
        alice.user.set_password("a-new-long-password-42")
        alice.user.save()

    await database_sync_to_async(change)()
    await assert_closed_and_stays_out(connect, socket, cookie, 4401)


async def test_a_removed_brand_membership_closes_sockets_and_hands_back_its_conversations(connect, brand, alice):
    # Guards against: broken access control after de-provisioning (an expert removed from a brand still reading it).
    from experts import services
    from visitors.models import Conversation

    _, cookie = await session_of(alice.user, "pw-alice")
    expert = await expert_socket(connect, cookie)
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "private question", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")

    await database_sync_to_async(services.remove_brands)(expert=alice, brands=[brand])
    assert await expert.closed_with(timeout=2) == 4403
    back = await visitor.recv_type("conversation", timeout=2)
    assert back["conversation"]["status"] == "waiting" and back["conversation"]["expert"] is None
    again = await expert_socket(connect, cookie)
    assert again.welcome["queue"] == [] and again.welcome["conversations"] == []
    error = await again.error({"type": "sync", "conversation": conversation_id, "after_seq": 0})
    assert error["code"] == "not_found"
    status = await database_sync_to_async(lambda: Conversation.objects.get(pk=conversation_id).status)()
    assert status == "waiting"


async def test_removing_a_brand_in_the_admin_closes_the_experts_sockets(connect, brand, other_brand, alice, django_user_model):
    # Guards against: a de-provisioning path (the admin form) that skips the revocation the service does.
    _, cookie = await session_of(alice.user, "pw-alice")
    expert = await expert_socket(connect, cookie)

    def edit_in_admin():
        from django.test import Client

        admin = django_user_model.objects.create_superuser("root", "root@example.test", "pw-root-123")
        client = Client()
        sign_in(client, admin)
        page = client.get(f"/admin/experts/expertprofile/{alice.pk}/change/")
        assert page.status_code == 200
        data = {"display_name": "Alice", "bio": "", "avatar_url": "", "capacity": 3, "presence": "online",
                "brands": [other_brand.pk], "topics": [], "user": alice.user.pk}
        response = client.post(f"/admin/experts/expertprofile/{alice.pk}/change/", data)
        assert response.status_code == 302, response.content[:2000]

    await database_sync_to_async(edit_in_admin)()
    assert await expert.closed_with(timeout=2) == 4403


async def test_suspension_closes_sockets_and_refuses_new_ones(connect, brand, alice, django_user_model):
    # Guards against: a suspended account keeping its live access (revocation not enforced on open connections).
    from moderation.services import set_suspended

    _, cookie = await session_of(alice.user, "pw-alice")
    socket = await expert_socket(connect, cookie)
    manager = await database_sync_to_async(django_user_model.objects.create_user)("carol", password="x")
    await database_sync_to_async(set_suspended)(user=manager, expert=alice, suspended=True)
    await assert_closed_and_stays_out(connect, socket, cookie, 4403)


async def test_a_session_deleted_behind_the_sockets_back_is_caught_by_the_heartbeat(connect, brand, alice, settings):
    # Guards against: revocation paths that send no event (session store flushed, user deactivated) leaving sockets open.
    from django.contrib.sessions.models import Session

    settings.CHAT_PRESENCE_HEARTBEAT_SECONDS = 0.3
    _, cookie = await session_of(alice.user, "pw-alice")
    socket = await expert_socket(connect, cookie)
    await database_sync_to_async(lambda: Session.objects.all().delete())()
    assert await socket.closed_with(timeout=3) == 4401


async def manager_feed(connect, django_user_model):
    """A community manager (carol) signed in, and her live feed after its welcome: (client, user, feed, headers)."""
    from django.core.management import call_command

    await database_sync_to_async(call_command)("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    carol = await database_sync_to_async(django_user_model.objects.get)(username="carol")
    client, cookie = await session_of(carol, "pw-carol-123")
    headers = [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
               (b"origin", b"http://testserver"), (b"host", b"testserver")]
    feed, connected, _ = await connect.raw("/ws/v1/moderation/", headers)
    assert connected and (await feed.recv())["type"] == "welcome"
    return client, carol, feed, headers


async def test_signing_out_closes_the_community_managers_live_feed(connect, db, django_user_model):
    # Guards against: a moderation feed (alerts, reports) that keeps streaming after its manager signed out.
    client, _, feed, _ = await manager_feed(connect, django_user_model)
    await database_sync_to_async(client.post)("/logout/")
    assert (await feed.recv_type("error", timeout=2))["code"] == "forbidden"
    assert await feed.closed_with(timeout=2) == 4401


async def test_a_password_change_closes_the_community_managers_live_feed(connect, db, django_user_model):
    # Guards against: a stolen manager session keeping the moderation feed (alerts, reports, blocks) after the password is changed.
    _, carol, feed, headers = await manager_feed(connect, django_user_model)

    def change():
        carol.set_password("another-long-password-77")
        carol.save()

    await database_sync_to_async(change)()
    assert (await feed.recv_type("error", timeout=2))["code"] == "forbidden"
    assert await feed.closed_with(timeout=2) == 4401
    again, connected, _ = await connect.raw("/ws/v1/moderation/", headers)
    assert not connected or await again.closed_with() == 4401  # the old session opens nothing any more


async def test_a_blocked_visitors_tabs_are_all_closed_within_two_seconds(connect, brand, alice):
    # Guards against: a blocked visitor who keeps chatting (or keeps a second tab open) after the expert blocks them.
    tab = await connect.visitor()
    other_tab = await connect.visitor(token=tab.token)
    await tab.send({"type": "conversation.start", "text": "you are all idiots", "client_id": client_id()})
    conversation_id = (await tab.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await asyncio.gather(tab.drain(timeout=0.1), other_tab.drain(timeout=0.1))

    async def blocked_then_closed(socket):
        error = await socket.recv_type("error", timeout=2)
        return error["code"], await socket.closed_with(timeout=2), time.monotonic()

    started = time.monotonic()
    await expert.send({"type": "moderation.block", "conversation": conversation_id, "reason": "insults", "duration_hours": 24})
    results = await asyncio.wait_for(asyncio.gather(blocked_then_closed(tab), blocked_then_closed(other_tab)), timeout=2)
    for code, close_code, at in results:
        assert (code, close_code) == ("blocked", 4403)
        assert at - started < 2
    assert (await expert.recv_type("block.created", timeout=2))["block"]["until"]
