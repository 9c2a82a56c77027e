"""An event to many sockets is decoded once and its frame encoded once (chatplatform/fanout.py, layers.py)."""

import uuid

import pytest
from channels.db import database_sync_to_async

from chatplatform import protocol
from chatplatform.fanout import SharedEvent, shared_text
from chatplatform.layers import ChatPubSubChannelLayer
from tests.support import redis_url


def test_a_shared_events_frame_is_encoded_once_a_plain_events_each_time(monkeypatch):
    encodes = []
    real = protocol.encode
    monkeypatch.setattr(protocol, "encode", lambda frame: encodes.append(frame) or real(frame))
    shared = SharedEvent({"type": "queue.removed", "conversation": "c1"})
    texts = {shared_text(shared, "", lambda: protocol.queue_removed_frame("c1")) for _ in range(200)}
    assert texts == {'{"type":"queue.removed","conversation":"c1"}'} and len(encodes) == 1
    # Another frame of the same event has its own text.
    assert shared_text(shared, "other", lambda: {"type": "x"}) == '{"type":"x"}' and len(encodes) == 2
    plain = {"type": "queue.removed", "conversation": "c1"}
    for _ in range(3):
        shared_text(plain, "", lambda: protocol.queue_removed_frame("c1"))
    assert len(encodes) == 5


@pytest.fixture
def pubsub(settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chatplatform.layers.ChatPubSubChannelLayer",
                                           "CONFIG": {"hosts": [redis_url()], "prefix": f"f{uuid.uuid4().hex[:6]}"}}}
    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)


@pytest.mark.redis
async def test_a_group_event_is_decoded_once_for_all_its_members_of_the_process(monkeypatch):
    layer = ChatPubSubChannelLayer(hosts=[redis_url()], prefix=f"t{uuid.uuid4().hex[:6]}")
    decodes = []
    real = layer._serializer.deserialize
    monkeypatch.setattr(layer._serializer, "deserialize", lambda data: decodes.append(data) or real(data))
    try:
        members = [await layer.new_channel() for _ in range(5)]
        for channel in members:
            await layer.group_add("queue.acme", channel)
        await layer.group_send("queue.acme", {"type": "queue.removed", "conversation": "c1"})
        received = [await layer.receive(channel) for channel in members]
        assert all(event == {"type": "queue.removed", "conversation": "c1"} for event in received)
        assert all(event is received[0] for event in received) and len(decodes) == 1
    finally:
        await layer.flush()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_question_offered_to_every_online_dashboard_is_encoded_once(pubsub, connect, make_expert, brand, monkeypatch):
    # Guards against: the queue's frames encoded once per dashboard (200 times per question
    # with 200 experts online, docs/performance.md "question-burst").
    profiles = [await database_sync_to_async(make_expert)(f"expert{n}", brands=[brand]) for n in range(4)]
    experts = [await connect.expert(profile) for profile in profiles]
    encoded = []
    real = protocol.encode
    monkeypatch.setattr(protocol, "encode", lambda frame: encoded.append(frame["type"]) or real(frame))
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "Which size?", "client_id": "c-1"})
    offers = [await expert.recv_type("queue.added") for expert in experts]
    assert {offer["conversation"]["id"] for offer in offers} == {offers[0]["conversation"]["id"]}
    assert all(offer["preview"] == "Which size?" for offer in offers)
    assert encoded.count("queue.added") == 1
    # Claimed: every dashboard hears it leave the queue, from one encode.
    claimed = await experts[0].request({"type": "conversation.claim", "conversation": offers[0]["conversation"]["id"]}, "conversation")
    assert claimed["status"] == "active"
    for expert in experts:
        assert (await expert.recv_type("queue.removed"))["conversation"] == offers[0]["conversation"]["id"]
    assert encoded.count("queue.removed") == 1
