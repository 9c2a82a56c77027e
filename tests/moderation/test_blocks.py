"""Blocks hold on every frame even when their event is lost, extensions shut the door again, and
MAX_BLOCK_HOURS bounds how long an expert may block."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chatplatform.errors import ChatError
from tests.moderation.sockets import active_conversation, start, visitor_from

pytestmark = pytest.mark.django_db(transaction=True)


def block_without_event(brand, visitor_id):
    """A block whose `visitor.blocked` event never reaches the sockets (the layer dropped it)."""
    from moderation.models import Block

    return Block.objects.create(brand=brand, visitor_id=visitor_id, reason="Threats", expires_at=timezone.now() + timedelta(hours=1))


FRAMES_THAT_REACH_THE_DATABASE = [
    {"type": "message.send", "text": "still here?", "client_id": "after-block"},
    {"type": "sync", "after_seq": 0},
    {"type": "read", "seq": 1},
    {"type": "conversation.end"},
    {"type": "conversation.rate", "score": 5},
    {"type": "data.export"},
]


@pytest.mark.parametrize("frame", FRAMES_THAT_REACH_THE_DATABASE, ids=lambda f: f["type"])
async def test_a_block_whose_event_was_lost_refuses_the_next_frame(connect, brand, via_proxy, frame):
    # Guards against: a blocked visitor chatting on, on a socket that never heard of the block.
    from visitors.models import Conversation, Message

    visitor = await visitor_from(connect, "192.0.2.130")
    conversation_id = await start(visitor)
    await database_sync_to_async(block_without_event)(brand, visitor.welcome["visitor"]["id"])
    before = len(visitor.log)
    error = await visitor.error(frame)
    assert error["code"] == "blocked" and error["until"] is not None
    assert await visitor.closed_with() == 4403
    assert [f["type"] for f in visitor.log[before:]] == ["error"]  # no answer, no transcript, no export
    conversation = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    assert conversation.status == "waiting" and conversation.visitor_read_seq == 0  # nothing was applied
    assert not await database_sync_to_async(Message.objects.filter(client_id="after-block").exists)()


async def test_a_block_whose_event_was_lost_closes_a_socket_that_only_types_or_pings(connect, brand, alice, via_proxy, settings):
    # Guards against: typing and pings, which never reach the database, keeping a blocked visitor's socket alive.
    settings.CHAT_VISITOR_HEARTBEAT_SECONDS = 0.2
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.131")
    await visitor.send({"type": "typing", "active": True})
    assert (await expert.recv_type("typing"))["active"] is True  # relayed while not blocked
    await database_sync_to_async(block_without_event)(brand, visitor.welcome["visitor"]["id"])
    error = await visitor.recv_type("error", timeout=2)  # within a heartbeat, unprompted
    assert error["code"] == "blocked" and error["until"] is not None
    assert await visitor.closed_with() == 4403
    await visitor.send({"type": "typing", "active": False})
    assert (await visitor.error({"type": "ping"}))["code"] == "blocked"
    assert not [f for f in await expert.drain(timeout=0.3) if f["type"] == "typing"]


async def test_extending_an_expired_address_block_closes_the_other_visitors_on_that_address(connect, brand, alice, manager, via_proxy):
    # Guards against: an extension that reaches only the blocked visitor's own tabs, not their address.
    from moderation import services
    from moderation.models import Block

    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.132")
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Threats", "duration_hours": 1},
                         "block.created")
    await visitor.recv_type("error")
    block = await database_sync_to_async(Block.objects.get)()
    block.expires_at = timezone.now() - timedelta(minutes=1)
    await database_sync_to_async(block.save)()
    neighbour = await visitor_from(connect, "192.0.2.132")  # a fresh browser on that address: the block expired
    assert neighbour.welcome["type"] == "welcome"
    await database_sync_to_async(services.extend_block)(user=manager, block=block, hours=24)
    error = await neighbour.recv_type("error")
    assert error["code"] == "blocked" and error["until"] is not None
    assert await neighbour.closed_with() == 4403


async def test_an_expert_cannot_block_longer_than_max_block_hours(connect, brand, alice, via_proxy, settings):
    from moderation.models import Block

    settings.MAX_BLOCK_HOURS = 48
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.133")
    error = await expert.error({"type": "moderation.block", "conversation": conversation_id, "reason": "r", "duration_hours": 49})
    assert error["code"] == "invalid_field" and "48" in error["detail"]
    assert not await database_sync_to_async(Block.objects.exists)()
    assert await visitor.nothing()  # not blocked, conversation still on
    created = await expert.request(
        {"type": "moderation.block", "conversation": conversation_id, "reason": "r", "duration_hours": 48}, "block.created"
    )
    assert created["block"]["until"] is not None


def test_max_block_hours_may_be_raised_past_a_year_and_stays_a_clear_refusal_past_the_calendar(brand, alice, settings):
    from experts import services as expert_services
    from moderation import services
    from visitors import services as visitor_services

    def conversation(n):
        visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
        started = visitor_services.start_conversation(visitor=visitor, text="q", client_id=f"c{n}")
        expert_services.claim_conversation(expert=alice, conversation_id=started.pk)
        return started.pk

    settings.MAX_BLOCK_HOURS = 24 * 365 * 3
    block = services.block_visitor(expert=alice, conversation_id=conversation(1), reason="r", duration_hours=24 * 365 * 2)
    assert (block.expires_at - timezone.now()).days in (729, 730)
    settings.MAX_BLOCK_HOURS = 10**9  # past year 9999
    with pytest.raises(ChatError) as refused:
        services.block_visitor(expert=alice, conversation_id=conversation(2), reason="r", duration_hours=10**9)
    assert refused.value.code == "invalid_field"
