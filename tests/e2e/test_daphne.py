"""End to end: the real server (daphne) in a subprocess, driven by a real websocket client."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from tests.e2e.servers import daphne_server
from tests.support import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


async def recv_type(ws, frame_type, timeout=5):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


@pytest.fixture
def server(brand, alice):
    with daphne_server() as base:
        yield base


async def test_a_whole_conversation_with_a_disconnect_and_a_resume(server, alice):
    ws_base = server.replace("http", "ws")
    cookie = (await sync_to_async(session_cookie)(alice.user)).decode()
    own = server  # the server's own origin

    async with websockets.connect(f"{ws_base}/ws/v1/expert/", origin=own, additional_headers={"Cookie": cookie}) as expert:
        welcome = await recv_type(expert, "welcome")
        assert welcome["expert"]["display_name"] == "Alice"

        visitor = await websockets.connect(f"{ws_base}/ws/v1/visitor/acme/", origin="https://shop.acme.test")
        await visitor.send(json.dumps({"type": "hello", "token": None, "nickname": "Sam"}))
        token = (await recv_type(visitor, "welcome"))["token"]
        await visitor.send(json.dumps({"type": "conversation.start", "text": "Hi, which size?", "client_id": "v1"}))
        conversation_id = (await recv_type(visitor, "conversation"))["conversation"]["id"]
        offered = await recv_type(expert, "queue.added")
        assert offered["conversation"]["id"] == conversation_id and offered["preview"] == "Hi, which size?"

        await expert.send(json.dumps({"type": "conversation.claim", "conversation": conversation_id}))
        assert (await recv_type(visitor, "conversation"))["conversation"]["expert"]["display_name"] == "Alice"
        await expert.send(json.dumps({"type": "message.send", "conversation": conversation_id, "text": "Take a 42.", "client_id": "e1"}))
        assert (await recv_type(visitor, "message"))["message"]["text"] == "Take a 42."
        assert (await recv_type(expert, "message"))["message"]["client_id"] == "e1"

        await visitor.close()  # the visitor's connection drops
        for n in range(3):
            await expert.send(json.dumps({"type": "message.send", "conversation": conversation_id, "text": f"while away {n}", "client_id": f"w{n}"}))
            assert (await recv_type(expert, "message"))["message"]["client_id"] == f"w{n}"

        async with websockets.connect(f"{ws_base}/ws/v1/visitor/acme/", origin="https://shop.acme.test") as again:
            await again.send(json.dumps({"type": "hello", "token": token, "last_seq": 2}))
            welcome = await recv_type(again, "welcome")
            assert welcome["conversation"]["id"] == conversation_id
            assert [(m["seq"], m["text"]) for m in welcome["messages"]] == [
                (3, "while away 0"), (4, "while away 1"), (5, "while away 2")
            ]
            await again.send(json.dumps({"type": "message.send", "text": "Thanks!", "client_id": "v2"}))
            ack = await recv_type(again, "message")
            assert ack["message"]["seq"] == 6 and ack["message"]["client_id"] == "v2"
            assert (await recv_type(expert, "message"))["message"]["text"] == "Thanks!"
            await again.send(json.dumps({"type": "conversation.end"}))
            assert (await recv_type(expert, "conversation"))["conversation"]["status"] == "ended"


async def test_healthz_and_a_refused_origin(server):
    import urllib.request

    body = json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(server + "/healthz").read()))
    assert body == {"status": "ok", "database": "ok", "channel_layer": "ok"}
    ws_base = server.replace("http", "ws")
    with pytest.raises(websockets.InvalidStatus) as excinfo:
        await websockets.connect(f"{ws_base}/ws/v1/visitor/acme/", origin="https://evil.test")
    assert excinfo.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{ws_base}/ws/v1/expert/", origin="https://evil.test")


async def closed_with(ws, timeout=5) -> int | None:
    """The close code the server sent (None: the connection was dropped without one, a 1006)."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def test_a_frame_over_1_mib_is_closed_with_1009_and_invalid_utf8_with_1007(server):
    # Guards against: docs/protocol.md promising 1009 and 1007 while daphne (autobahn's failByDrop)
    # dropped the TCP connection and the client saw 1006, with no hint of what was wrong.
    ws_base = server.replace("http", "ws")
    connect = lambda: websockets.connect(f"{ws_base}/ws/v1/visitor/acme/", origin="https://shop.acme.test", max_size=None)  # noqa: E731
    async with connect() as visitor:
        await visitor.send(json.dumps({"type": "hello", "token": None}))
        await recv_type(visitor, "welcome")
        await visitor.send(json.dumps({"type": "ping", "pad": "x" * (1024 * 1024)}))  # just over 1 MiB
        assert await closed_with(visitor) == 1009
    async with connect() as visitor:
        await visitor.send(json.dumps({"type": "hello", "token": None}))
        await recv_type(visitor, "welcome")
        await visitor.send(b'{"type": "ping", "x": "\xff\xfe"}', text=True)  # a text frame that is not UTF-8
        assert await closed_with(visitor) == 1007
    async with connect() as visitor:  # the server is fine: a frame under the limit is `too_long`, the socket stays
        await visitor.send(json.dumps({"type": "hello", "token": None}))
        await recv_type(visitor, "welcome")
        await visitor.send(json.dumps({"type": "ping", "pad": "x" * (1024 * 1024 - 100)}))
        assert (await recv_type(visitor, "error"))["code"] == "too_long"
        await visitor.send(json.dumps({"type": "ping"}))
        await recv_type(visitor, "pong")
