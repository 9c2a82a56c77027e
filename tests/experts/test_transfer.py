"""conversation.transfer through the sockets, and the colleagues the dashboard offers."""

import json

import pytest
from channels.db import database_sync_to_async

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)


async def claimed(connect, expert_socket, text="My tent leaks at the seams."):
    visitor = await connect.visitor("acme", nickname="Robin")
    await visitor.send({"type": "conversation.start", "text": text, "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await visitor.recv_type("message")
    await expert_socket.recv_type("queue.added")
    await expert_socket.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")
    return visitor, conversation_id


async def test_a_conversation_is_handed_to_a_colleague_with_the_note_and_the_history(connect, brand, alice, bob):
    a = await connect.expert(alice)
    b = await connect.expert(bob)
    visitor, conversation_id = await claimed(connect, a)
    await a.request({"type": "message.send", "conversation": conversation_id, "text": "Let me ask a colleague.",
                     "client_id": client_id()}, "message")

    state = await a.request({"type": "conversation.transfer", "conversation": conversation_id,
                             "expert": str(bob.pk), "note": "Bob knows seam tape best."}, "conversation")
    assert state["expert"]["id"] == str(bob.pk)

    # The visitor sees Bob join, as a stored message, and the new state.
    assert (await visitor.recv_type("message"))["text"] == "Let me ask a colleague."
    joined = await visitor.recv_type("message")
    assert joined["author"] == "system" and joined["text"] == "Bob joined the conversation"
    assert (await visitor.recv_type("conversation"))["expert"]["display_name"] == "Bob"

    # Bob gets the conversation, the note, and the whole history.
    frames = await b.drain(timeout=1.0)
    types = [f["type"] for f in frames]
    assert "conversation" in types
    note = next(f for f in frames if f["type"] == "conversation.transferred")
    assert note["conversation"] == conversation_id and note["note"] == "Bob knows seam tape best."
    assert note["from_expert"] == {"id": str(alice.pk), "display_name": "Alice"}
    # The history, as after a claim: the dashboard syncs the conversation it was given.
    history = await b.request({"type": "sync", "conversation": conversation_id, "after_seq": 0}, "messages")
    assert [m["text"] for m in history["messages"]] == [
        "My tent leaks at the seams.", "Let me ask a colleague.", "Bob joined the conversation",
    ]
    await b.request({"type": "message.send", "conversation": conversation_id, "text": "Hi, Bob here.",
                     "client_id": client_id()}, "message")
    assert (await visitor.recv_type("message"))["text"] == "Hi, Bob here."

    # Alice lost it: her writing is refused and she follows it no more.
    refused = await a.error({"type": "message.send", "conversation": conversation_id, "text": "still me?", "client_id": client_id()})
    assert refused["code"] == "forbidden"
    # Bob's dashboard, reloaded, still shows the note.
    again = await connect.expert(bob)
    assert again.welcome["transfer_notes"][conversation_id]["note"] == "Bob knows seam tape best."

    from experts.models import ConversationTransfer

    row = await database_sync_to_async(ConversationTransfer.objects.get)(conversation_id=conversation_id)
    assert (row.from_expert_id, row.to_expert_id) == (alice.pk, bob.pk)


async def test_transfer_errors(connect, brand, other_brand, alice, bob, make_expert):
    a = await connect.expert(alice)
    _, conversation_id = await claimed(connect, a)

    async def code(**fields):
        frame = {"type": "conversation.transfer", "conversation": conversation_id, "expert": str(bob.pk), **fields}
        return (await a.error(frame))["code"]

    # Bob has no socket open: unavailable; then away: unavailable too.
    assert await code() == "unavailable"
    b = await connect.expert(bob)
    await b.request({"type": "presence.set", "status": "away"}, "presence")
    assert await code() == "unavailable"
    await b.request({"type": "presence.set", "status": "online"}, "presence")
    # An expert of another brand, or no expert at all: not_found.
    stranger = await database_sync_to_async(make_expert)("carol", brands=[other_brand])
    await connect.expert(stranger)
    assert await code(expert=str(stranger.pk)) == "not_found"
    assert await code(expert="999999") == "not_found"
    assert await code(expert="bob") == "not_found"
    assert await code(conversation="00000000-0000-0000-0000-000000000000") == "not_found"
    # To oneself, a bad field, a too long note.
    assert await code(expert=str(alice.pk)) == "invalid_field"
    assert await code(expert=7) == "invalid_field"
    assert await code(note="x" * 1001) == "invalid_field"
    # Bob at capacity.
    bob.capacity = 0
    await database_sync_to_async(bob.save)()
    assert await code() == "capacity"
    # Someone else's conversation: forbidden.
    bob.capacity = 3
    await database_sync_to_async(bob.save)()
    refused = await b.error({"type": "conversation.transfer", "conversation": conversation_id, "expert": str(alice.pk)})
    assert refused["code"] == "forbidden"
    # Nothing changed through all of it.
    from visitors.models import Conversation

    conversation = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    assert conversation.expert_id == alice.pk and conversation.last_seq == 1


async def test_the_visitor_who_moved_on_from_a_colleague_is_not_handed_back_to_them(connect, brand, alice, bob):
    a = await connect.expert(alice)
    await connect.expert(bob)
    _, conversation_id = await claimed(connect, a)
    from visitors.models import Conversation

    conversation = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    await database_sync_to_async(conversation.excluded_experts.add)(bob)
    refused = await a.error({"type": "conversation.transfer", "conversation": conversation_id, "expert": str(bob.pk)})
    assert refused["code"] == "forbidden"


async def test_the_dashboard_lists_online_colleagues_by_name_and_topic(connect, brand, topic, alice, bob, make_expert, client):
    carol = await database_sync_to_async(make_expert)("carol", brands=[brand], capacity=0)
    await database_sync_to_async(bob.topics.set)([topic])
    a = await connect.expert(alice)
    await connect.expert(bob)
    await connect.expert(carol)
    await database_sync_to_async(make_expert)("dave", brands=[brand])  # offline: not listed
    _, conversation_id = await claimed(connect, a)

    def fetch(conversation):
        client.force_login(alice.user)
        return client.get("/dashboard/colleagues/", {"conversation": conversation})

    response = await database_sync_to_async(fetch)(conversation_id)
    assert response.status_code == 200
    assert json.loads(response.content)["colleagues"] == [
        {"id": str(bob.pk), "display_name": "Bob", "topics": ["Sizing and fit"], "room": 3},
        {"id": str(carol.pk), "display_name": "Carol", "topics": [], "room": 0},
    ]
    assert (await database_sync_to_async(fetch)("nonsense")).status_code == 404


def test_the_colleagues_endpoint_needs_an_expert_session(client, brand, alice):
    response = client.get("/dashboard/colleagues/", {"conversation": "x"})
    assert response.status_code == 302  # to the sign-in page


@pytest.mark.django_db(transaction=True)
def test_the_events_a_transfer_and_a_widened_offer_send_match_their_declarations(brand, topic, alice, bob, captured_events):
    import msgpack
    from django.utils import timezone

    from chatplatform.event_types import EVENTS
    from experts import services as expert_services
    from experts import topic_routing, transfer
    from experts.models import ExpertConnection
    from visitors import services as visitor_services
    from visitors.models import Conversation, Visitor

    ExpertConnection.objects.create(expert=bob, channel_name="test.bob")
    alice.topics.set([topic])
    ExpertConnection.objects.create(expert=alice, channel_name="test.alice")
    visitor = Visitor.objects.create(brand=brand, token_hash="t-robin", nickname="Robin")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Sizes?", client_id="c1", topic_slug="sizing")
    assert conversation.topic_offer_until is not None  # Alice (sizing) is online: the topic first
    Conversation.objects.filter(pk=conversation.pk).update(topic_offer_until=timezone.now())
    assert topic_routing.widen_topic_offers() == 1
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    transfer.transfer_conversation(expert=alice, conversation_id=conversation.pk, to_expert_id=str(bob.pk), note="over to you")

    kinds = [c["event"]["type"] for c in captured_events]
    assert "expert.transfer" in kinds and kinds.count("queue.added") == 2
    waves = [c["event"]["wave"] for c in captured_events if c["event"]["type"] == "queue.added"]
    assert waves == ["topic", "brand"]
    for captured in captured_events:
        event = captured["event"]
        EVENTS[event["type"]].model_validate(event)
        msgpack.unpackb(msgpack.packb(event, default=str))
