"""Type confusion and hostile frames: wrong types, odd encodings, huge and deep frames."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async

from tests.e2e.servers import daphne_server
from tests.support import client_id, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = "[" * 7000 + "]" * 7000  # under 16 KiB, far past any parser's nesting limit

VISITOR_FRAMES = [
    ('{"type": "message.send", "text": {"$gt": ""}, "client_id": "a"}', "invalid_field"),
    ('{"type": "message.send", "text": ["hi"], "client_id": "a"}', "invalid_field"),
    ('{"type": "message.send", "text": "hi", "client_id": 12}', "invalid_field"),
    ('{"type": "read", "seq": 1e400}', None),
    ('{"type": "read", "seq": 123456789012345678901234567890}', None),
    ('{"type": "read", "seq": -1}', "invalid_field"),
    ('{"type": "read", "seq": true}', "invalid_field"),
    ('{"type": "sync", "after_seq": "3"}', "invalid_field"),
    ('{"type": "report.file", "category": "other", "description": "x", "conversation": {"id": 1}}', "invalid_field"),
    ('{"type": "report.file", "category": "other", "description": "x", "conversation": ["a", "b"]}', "invalid_field"),
    ('{"type": ["ping"]}', "invalid_frame"),
    ('{"type": "ping", "__proto__": {"admin": true}, "extra": [1, 2, 3]}', "pong"),
    ('{"type": "ping", "deep": ' + DEEP + '}', "invalid_frame"),
    ("[" * 10000 + "]" * 10000, "too_long"),
    ('{"type": "message.send", "text": "\\ud800", "client_id": "a"}', None),
    ("\ud800", "invalid_frame"),
    ('{"type": "message.send", "text": "' + "x" * 17000 + '", "client_id": "a"}', "too_long"),
]

EXPERT_FRAMES = [
    ('{"type": "conversation.claim", "conversation": {"$ne": null}}', "invalid_field"),
    ('{"type": "conversation.claim", "conversation": ["a"]}', "invalid_field"),
    ('{"type": "conversation.claim", "conversation": 99999999999999999999999}', None),
    ('{"type": "conversation.claim", "conversation": "\' OR 1=1 --"}', "not_found"),
    ('{"type": "sync", "conversation": "00000000-0000-0000-0000-000000000000", "after_seq": 9007199254740993}', "invalid_field"),
    ('{"type": "moderation.block", "conversation": "x", "reason": "r", "duration_hours": 1e9}', "invalid_field"),
    ('{"type": "presence.set", "status": {"online": 1}}', "invalid_field"),
    ('{"type": "ping", "deep": ' + DEEP + '}', "invalid_frame"),
]


async def assert_answers(socket, raw, expected):
    await socket.send_text(raw)
    frame = await socket.recv()
    if expected == "pong":
        assert frame == {"type": "pong"}
    else:
        assert frame["type"] == "error", (raw[:80], frame)
        if expected:
            assert frame["code"] == expected, (raw[:80], frame)
    # The socket stays open and nothing was half-applied.
    assert (await socket.request({"type": "ping"}, "pong")) == {"type": "pong"}


@pytest.mark.parametrize("raw,expected", VISITOR_FRAMES)
async def test_hostile_visitor_frames_get_an_error_and_the_socket_stays_open(connect, brand, raw, expected):
    # Guards against: type confusion / parser abuse (objects for strings, huge numbers, deep nesting, bad UTF-8) crashing a handler.
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "first", "client_id": client_id()})
    await visitor.recv_type("message")
    await assert_answers(visitor, raw, expected)
    synced = await visitor.request({"type": "sync", "after_seq": 0}, "messages")
    assert [m["text"] for m in synced["messages"]] == ["first"]


@pytest.mark.parametrize("raw,expected", EXPERT_FRAMES)
async def test_hostile_expert_frames_get_an_error_and_the_socket_stays_open(connect, brand, alice, raw, expected):
    # Guards against: type confusion in expert frames (ids as objects, lists, huge numbers, injection strings).
    expert = await connect.expert(alice)
    await assert_answers(expert, raw, expected)


async def test_binary_frames_are_refused_on_every_socket(connect, brand, alice):
    # Guards against: binary frames reaching a text-only decoder (crash or silent misparse).
    for socket in (await connect.visitor(), await connect.expert(alice)):
        await socket.communicator.send_to(bytes_data=b'{"type": "ping"}')
        assert (await socket.recv())["code"] == "invalid_frame"
        assert (await socket.request({"type": "ping"}, "pong"))["type"] == "pong"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.e2e
async def test_through_daphne_oversized_and_malformed_frames_close_or_error_without_a_traceback(brand, alice):
    # Guards against: memory exhaustion and unhandled exceptions from oversized, binary or invalid-UTF-8 frames on the real server.
    cookie = (await sync_to_async(session_cookie)(alice.user)).decode()
    with daphne_server() as base:
        ws = base.replace("http", "ws")
        big = json.dumps({"type": "message.send", "text": "x" * (2 * 1024 * 1024), "client_id": "big"})
        before = rss_kib(base.process.pid)
        for _ in range(5):
            async with websockets.connect(ws + "/ws/v1/visitor/acme/", origin="https://shop.acme.test", max_size=None) as visitor:
                await visitor.send(json.dumps({"type": "hello", "token": None}))
                assert json.loads(await asyncio.wait_for(visitor.recv(), 5))["type"] == "welcome"
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    # The server may fail the connection while the frame is still being sent.
                    await visitor.send(big)
                    while True:
                        frame = json.loads(await asyncio.wait_for(visitor.recv(), 5))
                        assert frame["type"] == "error"
                # daphne (autobahn) fails the connection: 1009 "too big", or a dropped connection mid-send.
                assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
        after = rss_kib(base.process.pid)
        assert after - before < 50 * 1024, (before, after)

        async with websockets.connect(ws + "/ws/v1/expert/", origin=base, additional_headers={"Cookie": cookie}) as expert:
            assert json.loads(await asyncio.wait_for(expert.recv(), 5))["type"] == "welcome"
            await expert.send(b'{"type": "ping"}')
            assert json.loads(await asyncio.wait_for(expert.recv(), 5))["code"] == "invalid_frame"
            await expert.send('{"type": "ping", "deep": ' + DEEP + "}")
            assert json.loads(await asyncio.wait_for(expert.recv(), 5))["code"] == "invalid_frame"
            await expert.send("x" * 20000)
            assert json.loads(await asyncio.wait_for(expert.recv(), 5))["code"] == "too_long"
            await expert.send('{"type": "ping"}')
            assert json.loads(await asyncio.wait_for(expert.recv(), 5)) == {"type": "pong"}
        # Invalid UTF-8 in a text frame: the protocol layer fails the connection (1007), no handler runs.
        async with websockets.connect(ws + "/ws/v1/visitor/acme/", origin="https://shop.acme.test") as visitor:
            await visitor.send(b"\xff\xfe", text=True)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(visitor.recv(), 5)
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1007
        await asyncio.sleep(0.3)
        log = base.log_path.read_text()
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
