"""The pub/sub channel layer (CHANNEL_LAYER=pubsub, chatplatform/layers.py) against a real Redis."""

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from chatplatform.layers import ChatPubSubChannelLayer
from tests.support import redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
async def layer():
    name = f"chat-layer-test-{uuid.uuid4().hex[:8]}"  # so a test can find (and kill) its own connections
    layer = ChatPubSubChannelLayer(
        hosts=[{"address": redis_url(), "client_name": name}], prefix=f"t{uuid.uuid4().hex[:6]}", capacity=5
    )
    layer.client_name = name
    yield layer
    await layer.flush()


async def receive(layer, channel, timeout=3):
    async with asyncio.timeout(timeout):
        return await layer.receive(channel)


async def test_a_group_event_reaches_every_member_once_and_not_others(layer):
    one, two, other = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("conversation.a", one)
    await layer.group_add("conversation.a", two)
    await layer.group_send("conversation.a", {"type": "chat.message", "n": 1})
    assert (await receive(layer, one))["n"] == 1
    assert (await receive(layer, two))["n"] == 1
    with pytest.raises(TimeoutError):
        await receive(layer, other, timeout=0.3)


async def test_a_socket_that_stops_reading_has_a_bounded_inbox(layer):
    # Guards against: one stalled socket growing the server's memory without end.
    channel = await layer.new_channel()
    await layer.group_add("conversation.b", channel)
    for n in range(20):
        await layer.group_send("conversation.b", {"type": "chat.message", "n": n})
    loop_layer = layer._get_layer()
    for _ in range(100):
        if loop_layer.dropped == 15:
            break
        await asyncio.sleep(0.02)
    assert loop_layer.dropped == 15  # capacity 5: the rest is refilled from the database by seq
    assert [(await receive(layer, channel))["n"] for _ in range(5)] == [0, 1, 2, 3, 4]
    # ...because the socket is told: right after what was kept, one `layer.resync`, once.
    assert await receive(layer, channel) == {"type": "layer.resync"}
    await layer.group_send("conversation.b", {"type": "chat.message", "n": 20})
    assert (await receive(layer, channel))["n"] == 20


async def test_after_the_subscription_is_cut_every_socket_is_told_to_resync(layer):
    # Guards against: events published while a process was not subscribed (Redis restart) never reaching its sockets.
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conversation.c", one)
    await layer.group_send("conversation.c", {"type": "chat.message", "n": 1})
    assert (await receive(layer, one))["n"] == 1

    admin = aioredis.from_url(redis_url())
    try:
        clients = await admin.client_list()
        ours = [c["id"] for c in clients if c.get("name") == layer.client_name and int(c.get("sub", 0) or 0) > 0]
        assert ours, "the layer's subscription connection was not found"
        for client_id in ours:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()

    assert (await receive(layer, one, timeout=5)) == {"type": "layer.resync"}
    assert (await receive(layer, two, timeout=5)) == {"type": "layer.resync"}
    # And the subscription works again.
    await layer.group_send("conversation.c", {"type": "chat.message", "n": 2})
    assert (await receive(layer, one))["n"] == 2


async def test_the_default_layer_reports_an_outage_under_its_backup_clean_up_in_one_line(caplog):
    # Guards against: "Task exception was never retrieved" tracebacks from channels-redis's fire-and-forget
    # clean-up task whenever Redis restarts (its backup copy only means a possible repeat, which sockets skip).
    from chatplatform.layers import ChatRedisChannelLayer
    from tests.e2e.servers import free_port

    layer = ChatRedisChannelLayer(hosts=[{"address": f"redis://127.0.0.1:{free_port()}/0", "socket_connect_timeout": 0.2}])
    await layer._clean_receive_backup(0, "specific.abc!def")  # nothing listens on that port: must not raise
    records = [r for r in caplog.records if r.name == "chatplatform.layers"]
    assert len(records) == 1 and records[0].levelname == "WARNING" and records[0].exc_info is None
    assert "ConnectionError" in records[0].getMessage()
    await layer.close_pools()


def test_the_health_check_answers_on_the_pubsub_layer_and_leaves_no_subscription_behind(client, settings, db):
    # Guards against: /healthz hanging (a load balancer waiting forever) when each async_to_sync call has its own loop.
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chatplatform.layers.ChatPubSubChannelLayer",
                                           "CONFIG": {"hosts": [redis_url()], "prefix": f"h{uuid.uuid4().hex[:6]}"}}}
    channel_layers.backends.pop("default", None)
    try:
        for _ in range(3):
            response = client.get("/healthz")
            assert response.status_code == 200 and response.json()["channel_layer"] == "ok"
        layer = channel_layers["default"]
        assert all(not loop_layer.channels for loop_layer in layer._layers.values())
    finally:
        channel_layers.backends.pop("default", None)


async def test_a_subscribe_that_fails_mid_reconnect_becomes_a_retryable_connection_error(layer, monkeypatch, caplog):
    # Guards against: "Exception inside application" (a 1011 close, a traceback) when a socket opens while the
    # layer's subscription is reconnecting after a Redis restart; redis-py then fails with errors of its own.
    from redis.exceptions import ConnectionError as RedisConnectionError

    await layer.new_channel()  # the subscription connection exists
    pubsub = layer._get_layer()._shards[0]._pubsub

    async def torn_down(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'writelines'")

    monkeypatch.setattr(pubsub, "subscribe", torn_down)
    monkeypatch.setattr(pubsub, "unsubscribe", torn_down)
    with pytest.raises(RedisConnectionError):
        await layer.new_channel()
    shard = layer._get_layer()._shards[0]
    shard._subscribed_to.add("gone")  # so the unsubscribe really reaches the failing connection
    await shard.unsubscribe("gone")  # never raises: a leftover subscription only costs dropped events
    await shard.settled()
    assert not [r for r in caplog.records if r.exc_info]


async def test_sockets_opening_together_subscribe_in_a_few_commands_and_all_hear(layer):
    # Guards against: one SUBSCRIBE per call behind one lock, handed on once per turn of a busy
    # loop: a reconnect storm of thousands of sockets queued for minutes.
    await layer.new_channel()  # the subscription connection exists
    shard = layer._get_layer()._shards[0]
    sent = []
    original = shard._pubsub.subscribe

    async def counting(*channels):
        sent.append(len(channels))
        return await original(*channels)

    shard._pubsub.subscribe = counting

    async def open_socket(n):
        channel = await layer.new_channel()
        await layer.group_add(f"visitor.{n}", channel)
        await layer.group_add("conversation.all", channel)
        return channel

    channels = await asyncio.gather(*(open_socket(n) for n in range(200)))
    assert sum(sent) == 200 + 200 + 1  # every channel and group once
    assert len(sent) <= 6  # not one command per call
    await layer.group_send("conversation.all", {"type": "chat.message", "n": 1})
    await layer.group_send("visitor.17", {"type": "chat.message", "n": 2})
    assert [(await receive(layer, c))["n"] for c in channels] == [1] * 200
    assert (await receive(layer, channels[17]))["n"] == 2


async def test_a_group_left_and_joined_again_at_once_still_hears(layer):
    # Guards against: batched (un)subscriptions sent out of order, leaving a group unheard.
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("conversation.d", one)
    await layer.group_discard("conversation.d", one)  # the last member leaves: unsubscribe asked...
    await layer.group_add("conversation.d", two)  # ...and at once a new member joins
    await layer._get_layer()._shards[0].settled()
    await layer.group_send("conversation.d", {"type": "chat.message", "n": 1})
    assert (await receive(layer, two))["n"] == 1
    with pytest.raises(TimeoutError):
        await receive(layer, one, timeout=0.3)


async def test_a_socket_going_away_unsubscribes_without_a_traceback(layer, caplog):
    # Guards against: the stock layer awaiting its unsubscribe inside the cancelled receive and
    # logging "Unexpected exception while cleaning-up channel" for each socket of a storm.
    channels = [await layer.new_channel() for _ in range(20)]
    readers = [asyncio.ensure_future(layer.receive(c)) for c in channels]
    await asyncio.sleep(0.05)
    shard = layer._get_layer()._shards[0]
    async with shard._lock:  # other sockets' subscriptions are being sent meanwhile (a storm)...
        for reader in readers:
            reader.cancel()
        await asyncio.sleep(0)
        for reader in readers:  # ...and daphne cancels an application that is slow to go once more
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    await shard.settled()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    admin = aioredis.from_url(redis_url())
    try:
        left = [c for c in channels if (await admin.pubsub_numsub(c))[0][1]]
    finally:
        await admin.aclose()
    assert left == []


async def test_a_chat_sockets_own_channel_does_not_hold_up_its_handshake(layer):
    # Guards against: every handshake of a storm waiting for its own channel's SUBSCRIBE, which no
    # event needs (groups deliver in memory); the wait alone took seconds with 4,000 at once.
    from time import monotonic

    from chatplatform.db import SOCKET_OPENED

    await layer.new_channel()  # the subscription connection exists
    shard = layer._get_layer()._shards[0]

    async def open_socket():
        SOCKET_OPENED.set(monotonic())  # as chatplatform.consumers.ProtocolConsumer does for its task
        return await layer.new_channel()

    async with shard._lock:  # nothing can be sent to Redis meanwhile
        channel = await asyncio.wait_for(asyncio.ensure_future(open_socket()), 1)
        with pytest.raises(TimeoutError):  # anyone else still waits until their channel is heard
            await asyncio.wait_for(layer.new_channel(), 0.3)
    await shard.settled()
    admin = aioredis.from_url(redis_url())
    try:
        assert (await admin.pubsub_numsub(channel))[0][1] == 1  # subscribed all the same
    finally:
        await admin.aclose()
    await layer.send(channel, {"type": "chat.direct", "n": 1})
    assert (await receive(layer, channel))["n"] == 1
