"""Conversation access and fan-out isolation: nobody sees a conversation that is not theirs."""

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


async def assert_refused_everywhere(expert, conversation_id, *, claim_too=True):
    frames = list(EXPERT_FRAMES) + ([("conversation.claim", {})] if claim_too else [])
    for frame_type, extra in frames:
        error = await expert.error({"type": frame_type, "conversation": conversation_id, **extra})
        assert error["code"] in {"not_found", "forbidden", "already_claimed"}, (frame_type, error)


def leaked(frames, *needles) -> list:
    return [f for f in frames if any(n in json.dumps(f) for n in needles)]


async def test_an_expert_is_refused_every_conversation_that_is_not_theirs(connect, brand, other_brand, alice, bob):
    # Guards against: insecure direct object references (IDOR) on conversation ids in expert frames.
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
    for noise in (visitor_b, visitor_r, visitor_x):  # their owners keep talking meanwhile
        await noise.send({"type": "message.send", "text": "more " + uuid.uuid4().hex, "client_id": client_id()})
    await expert.drain()

    for bad_id in [str(uuid.uuid4()), foreign_id, bobs_id, excluded_id, "../" + bobs_id, bobs_id.upper() + " "]:
        await assert_refused_everywhere(expert, bad_id)
    await assert_refused_everywhere(expert, released_id, claim_too=False)  # still claimable from the queue, nothing else

    frames = await expert.drain()
    assert leaked(frames, foreign_secret, bobs_secret, excluded_secret, "more ") == []
    statuses = {str(k): v for k, v in await sync_statuses([foreign_id, bobs_id, excluded_id, released_id])}
    assert statuses == {foreign_id: "waiting", bobs_id: "active", excluded_id: "waiting", released_id: "waiting"}
    count = await count_messages(bobs_id)
    assert count == 2  # nothing of alice's got in


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
    frames = await attacker.drain()
    assert leaked(frames, victim_secret, foreign_secret) == []


async def test_fan_out_delivers_each_frame_only_to_the_sockets_entitled_to_it(connect, brand, make_expert):
    # Guards against: cross-talk in group fan-out (a message, typing or read mark reaching another conversation's sockets).
    experts = [await make_expert_async(make_expert, f"exp{i}", brand) for i in range(3)]
    expert_sockets = [await connect.expert(e) for e in experts]
    conversations = []  # (visitor socket, conversation id, expert index)
    for i in range(6):
        visitor, conversation_id, _ = await start(connect)
        owner = i % 3
        await claim(expert_sockets[owner], visitor, conversation_id)
        conversations.append((visitor, conversation_id, owner))
    for socket in expert_sockets:
        await socket.drain(timeout=0.1)
    for visitor, _, _ in conversations:
        await visitor.drain(timeout=0.05)

    received = {id(s): [] for s in expert_sockets + [c[0] for c in conversations]}

    async def collect(timeout=0.05):
        for socket in received:
            owner = next(s for s in expert_sockets + [c[0] for c in conversations] if id(s) == socket)
            received[socket].extend(await owner.drain(timeout=timeout))

    async def traffic(round_no):
        for visitor, conversation_id, owner in conversations:
            await visitor.send({"type": "message.send", "text": f"v{round_no} {conversation_id}", "client_id": client_id()})
            await visitor.send({"type": "typing", "active": True})
            await expert_sockets[owner].send({"type": "message.send", "conversation": conversation_id,
                                             "text": f"e{round_no} {conversation_id}", "client_id": client_id()})
            await expert_sockets[owner].send({"type": "typing", "conversation": conversation_id, "active": True})
            await visitor.send({"type": "read", "seq": 2})
        await collect()

    await traffic(1)
    # The expert of conversation 0 is moved on from, the expert of conversation 1 releases it.
    moved_visitor, moved_id, moved_owner = conversations[0]
    await moved_visitor.request({"type": "conversation.next_expert"}, "conversation")
    released_visitor, released_id, released_owner = conversations[1]
    await expert_sockets[released_owner].request({"type": "conversation.release", "conversation": released_id}, "conversation")
    await collect()
    cut = {id(expert_sockets[moved_owner]): len(received[id(expert_sockets[moved_owner])]),
           id(expert_sockets[released_owner]): len(received[id(expert_sockets[released_owner])])}
    for visitor in (moved_visitor, released_visitor):
        await visitor.send({"type": "message.send", "text": f"after {uuid.uuid4().hex}", "client_id": client_id()})
        await visitor.send({"type": "typing", "active": True})
        await visitor.send({"type": "read", "seq": 3})
    await traffic(2)
    await collect(timeout=0.3)

    chatty = {"message", "typing", "read", "messages"}
    for visitor, conversation_id, owner in conversations:
        for frame in received[id(visitor)]:
            if frame["type"] in chatty:
                assert frame_conversation(frame) == conversation_id, frame
    for index, socket in enumerate(expert_sockets):
        entitled = {cid for _, cid, owner in conversations if owner == index}
        frames = received[id(socket)]
        for position, frame in enumerate(frames):
            if frame["type"] not in chatty:
                continue
            cid = frame_conversation(frame)
            assert cid in entitled, (index, frame)
            if cid in (moved_id, released_id) and position >= cut.get(id(socket), len(frames)):
                pytest.fail(f"expert {index} still hears {cid} after leaving it: {frame}")
    # And the traffic did arrive where it belongs.
    for visitor, conversation_id, owner in conversations[2:]:
        texts = [f["message"]["text"] for f in received[id(visitor)] if f["type"] == "message"]
        assert f"e2 {conversation_id}" in texts


def frame_conversation(frame):
    if frame["type"] == "message":
        return frame["message"]["conversation"]
    return frame["conversation"]


async def make_expert_async(make_expert, username, brand):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(make_expert)(username, brands=[brand])


async def sync_statuses(ids):
    from channels.db import database_sync_to_async

    from visitors.models import Conversation

    return await database_sync_to_async(lambda: list(Conversation.objects.filter(pk__in=ids).values_list("id", "status")))()


async def count_messages(conversation_id):
    from channels.db import database_sync_to_async

    from visitors.models import Message

    return await database_sync_to_async(Message.objects.filter(conversation_id=conversation_id).count)()
