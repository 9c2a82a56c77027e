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


MODERATION_FRAMES = [
    ('{"type": "alert.ack", "alert": {"id": 1}}', "invalid_field"),
    ('{"type": "alert.ack", "alert": ["1"]}', "invalid_field"),
    ('{"type": "alert.ack", "alert": 123456789012345678901234567890}', "invalid_field"),
    ('{"type": "alert.ack", "alert": 1e400}', "invalid_frame"),
    ('{"type": "alert.ack", "alert": true}', "invalid_field"),
    ('{"type": "alert.ack", "alert": null}', "invalid_field"),
    ('{"type": "alert.ack"}', "invalid_field"),
    ('{"type": "alert.ack", "alert": "99999999999999999999"}', "not_found"),
    ('{"type": "alert.ack", "alert": "1 OR 1=1"}', "not_found"),
    ('{"type": "alert.ack", "alert": "-1"}', "not_found"),
    ('{"type": "alert.ack", "alert": "\u00b2"}', "not_found"),
    ('{"type": "alert.ack", "alert": "1", "deep": ' + DEEP + "}", "invalid_frame"),
    ("x" * 17000, "too_long"),
]


@pytest.fixture
def manager(db, django_user_model):
    import io

    from django.core.management import call_command

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


@pytest.mark.parametrize("raw,expected", MODERATION_FRAMES)
async def test_hostile_moderation_frames_get_an_error_and_the_feed_stays_open(connect, manager, brand, alice, raw, expected):
    # Guards against: type confusion in the community managers' feed (alert ids as objects, lists, huge or odd numbers).
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "help", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    alert = (await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "look"}, "alert.raised"))["alert"]
    feed = await connect.moderation(manager)
    await assert_answers(feed, raw, expected)
    # Nothing was half-applied: the real alert is still open, and acknowledging it still works.
    assert [a["status"] for a in feed.welcome["open_alerts"]] == ["open"]
    acked = await feed.request({"type": "alert.ack", "alert": alert["id"]}, "alert.updated")
    assert acked["alert"]["status"] == "acknowledged"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


NEAR_LIMIT = 15 * 1024
# What one hostile socket sends after its handshake, and what each frame must get back.
HOSTILE_ROUND = [
    (json.dumps({"type": "ping", "pad": "x" * NEAR_LIMIT}), "pong"),  # just under the limit, parsed in full
    (json.dumps({"type": "message.send", "text": "y" * NEAR_LIMIT, "client_id": "n"}), "error"),
    ("z" * (17 * 1024), "error"),  # over the 16 KiB limit, under daphne's 1 MiB
    ('{"type": "ping", "deep": ' + DEEP + "}", "error"),
    (json.dumps({"type": "ping", "pad": "\ud800" * 2500}), "any"),  # lone surrogates, escaped
    (b"\x00\xff" * (NEAR_LIMIT // 2), "error"),  # binary
]
FLOOD_OFF = {name: "1000000/minute" for name in (
    "FLOOD_MESSAGES_PER_VISITOR", "FLOOD_MESSAGES_PER_ADDRESS", "FLOOD_NEW_VISITORS_PER_ADDRESS",
    "FLOOD_SOCKETS_PER_VISITOR", "FLOOD_SOCKETS_PER_ADDRESS")}


async def hostile_socket(url, rounds, **connect_args) -> int:
    """Open one socket, send ``rounds`` hostile rounds and end with invalid UTF-8; return the bytes sent."""
    sent = 0
    async with websockets.connect(url, max_size=None, **connect_args) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5)) if "expert" in url else None
        if first is None:
            await ws.send(json.dumps({"type": "hello", "token": None}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "welcome", first
        for _ in range(rounds):
            for raw, expected in HOSTILE_ROUND:
                await ws.send(raw)
                sent += len(raw)
                answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert expected == "any" or answer["type"] == expected, (str(raw)[:60], answer)
        await ws.send(b"\xff\xfe" * 100, text=True)  # invalid UTF-8: the protocol layer fails the connection
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    return sent


@pytest.mark.e2e
async def test_through_daphne_hostile_frames_leave_memory_flat_and_no_traceback(brand, alice):
    # Guards against: memory exhaustion by hostile frames (frames, errors or sockets kept after they are answered) and crashes on them.
    cookie = (await sync_to_async(session_cookie)(alice.user)).decode()
    with daphne_server(**FLOOD_OFF) as base:
        ws = base.replace("http", "ws")
        visitor_url, expert_url = ws + "/ws/v1/visitor/acme/", ws + "/ws/v1/expert/"
        visitor_args = {"origin": "https://shop.acme.test"}
        expert_args = {"origin": base, "additional_headers": {"Cookie": cookie}}

        async def wave(count, rounds) -> int:
            sockets = [hostile_socket(expert_url, rounds, **expert_args) if n % 4 == 0 else
                       hostile_socket(visitor_url, rounds, **visitor_args) for n in range(count)]
            return sum(await asyncio.gather(*sockets))

        for _ in range(3):  # warm up: imports, caches, pools, the allocator's arenas
            await wave(10, 2)
        await asyncio.sleep(0.5)
        before = rss_kib(base.process.pid)
        sent = 0
        for _ in range(8):  # 80 sockets, 1,920 frames of ~15-17 KiB: ~29 MiB
            sent += await wave(10, 4)
        await asyncio.sleep(0.5)
        growth = (rss_kib(base.process.pid) - before) * 1024
        # Keeping even a fifth of what was sent would show; allocator noise stays well under 4 MiB.
        assert sent > 25 * 1024 * 1024, sent
        assert growth < max(0.2 * sent, 4 * 1024 * 1024), (growth, sent)

        # Past daphne's 1 MiB limit the connection is failed, not buffered.
        big = json.dumps({"type": "message.send", "text": "x" * (2 * 1024 * 1024), "client_id": "big"})
        for _ in range(3):
            async with websockets.connect(visitor_url, max_size=None, **visitor_args) as visitor:
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
        # And the server still answers.
        async with websockets.connect(expert_url, **expert_args) as expert:
            assert json.loads(await asyncio.wait_for(expert.recv(), 5))["type"] == "welcome"
            await expert.send('{"type": "ping"}')
            assert json.loads(await asyncio.wait_for(expert.recv(), 5)) == {"type": "pong"}
        await asyncio.sleep(0.3)
        log = base.log_path.read_text()
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
