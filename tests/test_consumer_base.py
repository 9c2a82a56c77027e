"""The sockets' base consumer (chatplatform/consumers.py): no thread hop per event, nor per close."""

import channels.consumer
import channels.generic.websocket
import pytest
from channels.db import database_sync_to_async

from chatplatform.consumers import LIVE_SOCKETS

pytestmark = pytest.mark.django_db(transaction=True)


async def test_frames_and_closes_make_no_thread_hop_and_the_close_still_cleans_up(connect, brand, alice, monkeypatch):
    # Guards against: Channels' close_old_connections() in a thread for every frame and every close
    # (4,000 of them when a reconnect storm drops every socket), and against an override that
    # forgets the consumer's own disconnect work (the expert's connection row, the live-socket set).
    from experts.models import ExpertConnection

    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    monkeypatch.setattr(channels.generic.websocket, "aclose_old_connections", counted)
    connections = database_sync_to_async(lambda: ExpertConnection.objects.filter(expert=alice).count())

    expert = await connect.expert(alice)
    visitor = await connect.visitor()
    await visitor.send({"type": "ping"})
    assert (await visitor.recv())["type"] == "pong"
    assert await connections() == 1
    live = len(LIVE_SOCKETS)
    await expert.close()
    await visitor.close()
    assert await connections() == 0
    assert len(LIVE_SOCKETS) == live - 2
    assert hops == []


async def test_a_frame_for_a_socket_the_client_just_closed_is_dropped_quietly(monkeypatch):
    # Seen in a reconnect storm: a message event reached a socket whose client had sent its close,
    # before daphne saw the connection end; autobahn refused the send and the consumer died with a
    # traceback. The frame is not needed: the client resumes from the database.
    from autobahn.exception import Disconnected

    from chatplatform.consumers import ProtocolConsumer

    consumer = ProtocolConsumer()
    sent = []

    async def closing(message):
        sent.append(message)
        raise Disconnected("Attempt to send on a closed protocol")

    consumer.base_send = closing
    await consumer.send_frame({"type": "pong"})
    assert sent == [{"type": "websocket.send", "text": '{"type":"pong"}'}]
