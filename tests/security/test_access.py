"""Conversation access and fan-out isolation: nobody sees a conversation that is not theirs."""

import asyncio
import json
import uuid

import pytest

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

# Every expert frame that names a conversation, with what it needs besides the id.
EXPERT_FRAMES = [
    ("message.send", {"text": "hello there", "client_id": "x1"}),
    ("typing", {"active": True}),
    ("read", {"seq": 1}),
    ("sync", {"after_seq": 0}),
    ("conversation.end", {}),
    ("conversation.release", {}),
    ("moderation.warn", {"text": "be nice"}),
    ("moderation.alert", {"note": "look"}),
    ("moderation.block", {"reason": "spam", "duration_hours": 1}),
    ("report.file", {"category": "other", "description": "bad"}),
]


async def start(connect, brand="acme", origin=b"https://shop.acme.test", text=None):
    visitor = await connect.visitor(brand, origin=origin)
    secret = text or f"secret-{uuid.uuid4().hex}"
    await visitor.send({"type": "conversation.start", "text": secret, "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await visitor.recv_type("message")
    return visitor, conversation_id, secret


async def claim(expert, visitor, conversation_id):
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")


# The code each kind of id gets (experts/selectors.py `access_conversation`, experts/services.py `claim_conversation`):
# a conversation the expert may not know of (random, malformed, another brand's) does not exist for them;
# one of their brand that is not theirs (another expert's, released, excluded them) is forbidden.
NOT_FOUND = {frame_type: "not_found" for frame_type, _ in EXPERT_FRAMES} | {"conversation.claim": "not_found"}
FORBIDDEN = {frame_type: "forbidden" for frame_type, _ in EXPERT_FRAMES}


async def assert_refused_everywhere(expert, conversation_id, expected: dict):
    for frame_type, extra in [*EXPERT_FRAMES, ("conversation.claim", {})]:
        if frame_type not in expected:
            continue
        error = await expert.error({"type": frame_type, "conversation": conversation_id, **extra})
        assert error["code"] == expected[frame_type], (frame_type, conversation_id, error)


def leaked(frames, *needles) -> list:
    return [f for f in frames if any(n in json.dumps(f) for n in needles)]


async def test_an_expert_is_refused_every_conversation_that_is_not_theirs(connect, brand, other_brand, alice, bob, settings):
    # Guards against: insecure direct object references (IDOR) on conversation ids in expert frames.
    # Every frame type, a dozen times each, within a minute: past the experts' flood limits otherwise.
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, **{
        action: {"user": "1000/minute"} for action in ("moderation_action", "expert_action", "expert_sync", "expert_read")
    }}
    _, foreign_id, foreign_secret = await start(connect, "globex", b"https://globex.test")
    visitor_b, bobs_id, bobs_secret = await start(connect)
    bob_socket = await connect.expert(bob)
    await claim(bob_socket, visitor_b, bobs_id)
    visitor_r, released_id, released_secret = await start(connect)
    visitor_x, excluded_id, excluded_secret = await start(connect)

    expert = await connect.expert(alice)
    await claim(expert, visitor_r, released_id)
    await expert.request({"type": "conversation.release", "conversation": released_id}, "conversation")
    await claim(expert, visitor_x, excluded_id)
    await visitor_x.request({"type": "conversation.next_expert"}, "conversation")
    await expert.recv_type("conversation")
    excluded_from = len(expert.log)  # alice read this one while it was hers; from here on it is not
    noise = f"more {uuid.uuid4().hex}"
    for talker in (visitor_b, visitor_r, visitor_x):  # their owners keep talking meanwhile
        await talker.send({"type": "message.send", "text": noise, "client_id": client_id()})
    await bob_socket.send({"type": "message.send", "conversation": bobs_id, "text": noise, "client_id": client_id()})
    await expert.drain()

    cases = [
        (str(uuid.uuid4()), NOT_FOUND),
        (foreign_id, NOT_FOUND),  # another brand's: not_found, its existence is not confirmed
        ("../" + bobs_id, NOT_FOUND),
        (bobs_id.upper() + " ", NOT_FOUND),
        (bobs_id, FORBIDDEN | {"conversation.claim": "already_claimed"}),
        (bobs_id.upper(), FORBIDDEN | {"conversation.claim": "already_claimed"}),  # the same UUID, written otherwise
        (excluded_id, FORBIDDEN | {"conversation.claim": "forbidden"}),
        (released_id, FORBIDDEN),  # still claimable from the queue, nothing else
    ]
    for bad_id, expected in cases:
        await assert_refused_everywhere(expert, bad_id, expected)
    await expert.drain()

    # Every frame alice's socket ever got, those the waits skipped included.
    assert leaked(expert.log, foreign_secret, bobs_secret, noise) == []
    assert leaked(expert.log[excluded_from:], excluded_secret) == []
    assert any(released_secret in json.dumps(f) for f in expert.log)  # the scan does see conversation texts
    statuses = {str(k): v for k, v in await sync_statuses([foreign_id, bobs_id, excluded_id, released_id])}
    assert statuses == {foreign_id: "waiting", bobs_id: "active", excluded_id: "waiting", released_id: "waiting"}
    texts = await message_texts(bobs_id)
    assert texts == [bobs_secret, noise, noise]  # nothing of alice's got in (no message, warning or block notice)


async def test_a_visitor_cannot_reach_another_visitors_conversation(connect, brand, other_brand, alice):
    # Guards against: IDOR from the visitor socket (report on, or sync of, someone else's conversation).
    victim, victim_id, victim_secret = await start(connect)
    _, foreign_id, foreign_secret = await start(connect, "globex", b"https://globex.test")
    attacker, own_id, _ = await start(connect)
    for target in (victim_id, foreign_id, str(uuid.uuid4())):
        error = await attacker.error({"type": "report.file", "category": "other", "description": "x", "conversation": target})
        assert error["code"] == "not_found"
        # Unknown keys are ignored: the visitor's sync is always about their own conversation.
        synced = await attacker.request({"type": "sync", "after_seq": 0, "conversation": target}, "messages")
        assert synced["conversation"] == own_id
    await attacker.drain()
    assert leaked(attacker.log, victim_secret, foreign_secret) == []


CHATTY = {"message", "typing", "read", "messages", "conversation"}


async def test_fan_out_delivers_each_frame_only_to_the_sockets_entitled_to_it(connect, brand, make_expert):
    # Guards against: cross-talk in group fan-out (a message, typing or read mark reaching another conversation's sockets).
    experts = [await make_expert_async(make_expert, f"exp{i}", brand) for i in range(4)]
    expert_sockets = [await connect.expert(e) for e in experts]
    conversations = []  # (visitor socket, conversation id, expert index)
    for i in range(12):
        visitor, conversation_id, _ = await start(connect)
        owner = i % len(experts)
        await claim(expert_sockets[owner], visitor, conversation_id)
        conversations.append((visitor, conversation_id, owner))
    every_socket = expert_sockets + [visitor for visitor, _, _ in conversations]

    async def settle(timeout=0.1):
        await asyncio.gather(*(socket.drain(timeout=timeout) for socket in every_socket))

    async def talk(round_no, visitor, conversation_id, owner):
        expert = expert_sockets[owner]
        await asyncio.gather(
            visitor.send({"type": "message.send", "text": f"v{round_no} {conversation_id}", "client_id": client_id()}),
            expert.send({"type": "message.send", "conversation": conversation_id, "text": f"e{round_no} {conversation_id}",
                         "client_id": client_id()}),
        )
        await asyncio.gather(
            visitor.send({"type": "typing", "active": True}),
            expert.send({"type": "typing", "conversation": conversation_id, "active": True}),
            visitor.send({"type": "read", "seq": 2}),
            expert.send({"type": "read", "conversation": conversation_id, "seq": 2}),
            visitor.send({"type": "sync", "after_seq": 0}),
            expert.send({"type": "sync", "conversation": conversation_id, "after_seq": 0}),
        )

    await settle()
    await asyncio.gather(*(talk(1, *c) for c in conversations))
    await settle()
    # The expert of conversation 0 is moved on from, the expert of conversation 1 releases it.
    moved_visitor, moved_id, moved_owner = conversations[0]
    released_visitor, released_id, released_owner = conversations[1]
    await moved_visitor.request({"type": "conversation.next_expert"}, "conversation")
    await expert_sockets[released_owner].request({"type": "conversation.release", "conversation": released_id}, "conversation")
    for socket, left in ((expert_sockets[moved_owner], moved_id), (expert_sockets[released_owner], released_id)):
        while not (socket.log and socket.log[-1]["type"] == "conversation" and socket.log[-1]["conversation"]["id"] == left
                   and socket.log[-1]["conversation"]["status"] == "waiting"):
            await socket.recv()
    cut = {moved_id: len(expert_sockets[moved_owner].log), released_id: len(expert_sockets[released_owner].log)}
    await asyncio.gather(
        *(talk(2, *c) for c in conversations[2:]),
        *(visitor.send(frame) for visitor in (moved_visitor, released_visitor) for frame in (
            {"type": "message.send", "text": f"after {uuid.uuid4().hex}", "client_id": client_id()},
            {"type": "typing", "active": True}, {"type": "read", "seq": 3}, {"type": "sync", "after_seq": 0})),
    )
    await settle(timeout=0.3)

    def arrived(socket, conversation_id, text, relayed):
        mine = [f for f in socket.log if f["type"] in CHATTY and frame_conversation(f) == conversation_id]
        return (text in [f["message"]["text"] for f in mine if f["type"] == "message"]
                and any(f["type"] == "typing" and f["author"] == relayed for f in mine)
                and any(f["type"] == "read" and f["reader"] == relayed for f in mine)
                and any(f["type"] == "messages" for f in mine))

    # A quiet moment is not the end of the traffic on a loaded machine: read on until what must
    # arrive has arrived (or 10 s), then check every frame read, late ones included.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    for visitor, conversation_id, owner in conversations[2:]:
        expert = expert_sockets[owner]
        for socket, text, relayed in ((visitor, f"e2 {conversation_id}", "expert"), (expert, f"v2 {conversation_id}", "visitor")):
            while not arrived(socket, conversation_id, text, relayed) and loop.time() < deadline:
                try:
                    await socket.recv(timeout=max(0.05, deadline - loop.time()))
                except asyncio.TimeoutError:
                    break
    await settle(timeout=0.3)

    for visitor, conversation_id, _ in conversations:
        for frame in visitor.log:
            if frame["type"] in CHATTY:
                assert frame_conversation(frame) == conversation_id, frame
    for index, socket in enumerate(expert_sockets):
        entitled = {cid for _, cid, owner in conversations if owner == index}
        for position, frame in enumerate(socket.log):
            if frame["type"] not in CHATTY:
                continue
            cid = frame_conversation(frame)
            assert cid in entitled, (index, frame)
            if position >= cut.get(cid, len(socket.log)):
                pytest.fail(f"expert {index} still hears {cid} after leaving it: {frame}")
    # And the traffic did arrive where it belongs: both sides, every kind of frame.
    for visitor, conversation_id, owner in conversations[2:]:
        expert = expert_sockets[owner]
        for socket, text, relayed in ((visitor, f"e2 {conversation_id}", "expert"), (expert, f"v2 {conversation_id}", "visitor")):
            mine = [f for f in socket.log if f["type"] in CHATTY and frame_conversation(f) == conversation_id]
            assert text in [f["message"]["text"] for f in mine if f["type"] == "message"], (socket, text)
            assert any(f["type"] == "typing" and f["author"] == relayed for f in mine)
            assert any(f["type"] == "read" and f["reader"] == relayed for f in mine)
            assert any(f["type"] == "messages" for f in mine)
    assert any(f["type"] == "messages" and f["conversation"] == moved_id for f in moved_visitor.log)


def frame_conversation(frame) -> str:
    """The id of the conversation a message, typing, read, messages or conversation frame is about."""
    if frame["type"] == "message":
        return frame["message"]["conversation"]
    if frame["type"] == "conversation":
        return frame["conversation"]["id"]
    return frame["conversation"]


async def make_expert_async(make_expert, username, brand):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(make_expert)(username, brands=[brand], capacity=3)


async def sync_statuses(ids):
    from channels.db import database_sync_to_async

    from visitors.models import Conversation

    return await database_sync_to_async(lambda: list(Conversation.objects.filter(pk__in=ids).values_list("id", "status")))()


async def message_texts(conversation_id):
    from channels.db import database_sync_to_async

    from visitors.models import Message

    query = Message.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("text", flat=True)
    return await database_sync_to_async(lambda: list(query))()
