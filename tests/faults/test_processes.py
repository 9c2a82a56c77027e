"""Faults across real processes: Redis restarting, a server killed or stopped mid-conversation.

Each test runs its OWN redis-server on a free port (never the machine's shared one)
and real daphne processes pointed at it.
"""

import asyncio
import json
import re
import shutil
import signal
import subprocess
import time

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async

from tests.e2e.servers import ROOT, daphne_server, free_port
from tests.support import session_cookie

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.redis,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]

VISITOR_ORIGIN = "https://shop.acme.test"
RETRYABLE = {1001, 1012}  # going away, service restart: reconnect and resume


class OwnRedis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=ROOT / "var", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


async def recv_type(ws, frame_type, timeout=5):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


class Visitor:
    """A visitor client that reconnects with its token and last seen seq, and records every message it got."""

    def __init__(self, base):
        self.base, self.token, self.seqs, self.texts, self.ws = base, None, [], [], None

    def record(self, message):
        self.seqs.append(message["seq"])
        self.texts.append(message["text"])

    async def connect(self, base=None):
        self.base = base or self.base
        self.ws = await websockets.connect(self.base.replace("http", "ws") + "/ws/v1/visitor/acme/", origin=VISITOR_ORIGIN)
        await self.ws.send(json.dumps({"type": "hello", "token": self.token, "last_seq": self.seqs[-1] if self.seqs else 0}))
        welcome = await recv_type(self.ws, "welcome")
        self.token = welcome["token"]
        for message in welcome["messages"]:
            self.record(message)
        return welcome

    async def until_message(self, text, timeout=8):
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == "message":
                    self.record(frame["message"])
                    if frame["message"]["text"] == text:
                        return frame["message"]

    async def say(self, text) -> str:
        """Send ``text`` (its client_id is the text); return "stored", or "unavailable"/"closed" when the client must retry."""
        async def read_until_answered(ws):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "message":
                    self.record(frame["message"])
                    if frame["message"]["client_id"] == text:
                        return "stored"
                elif frame["type"] == "error" and frame.get("ref") == text:
                    assert frame["code"] == "unavailable", frame
                    return "unavailable"

        return await answered(self.ws, {"type": "message.send", "text": text, "client_id": text}, read_until_answered)


class Expert:
    """An expert client that reconnects with its session after a retryable close."""

    def __init__(self, base, user):
        self.base, self.user, self.ws = base, user, None

    async def connect(self):
        self.ws = await expert_socket(self.base, self.user)
        return self.ws

    async def say(self, conversation_id, text) -> str:
        async def read_until_answered(ws):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "message" and frame["message"]["client_id"] == text:
                    return "stored"
                if frame["type"] == "error" and frame.get("ref") == text:
                    assert frame["code"] == "unavailable", frame
                    return "unavailable"

        frame = {"type": "message.send", "conversation": conversation_id, "text": text, "client_id": text}
        return await answered(self.ws, frame, read_until_answered)


async def answered(ws, frame, read_until_answered, timeout=5) -> str:
    """Send ``frame`` on ``ws`` and wait for its answer; a socket closed on the way must say "reconnect"."""
    try:
        await ws.send(json.dumps(frame))
        async with asyncio.timeout(timeout):
            return await read_until_answered(ws)
    except websockets.ConnectionClosed:
        code = ws.close_code if ws.close_code is not None else 1006
        assert code in RETRYABLE, code
        return "closed"


def log_records(log: str) -> list[tuple[str, str]]:
    """The server log as (level, text) records; a traceback belongs to the record above it."""
    records = []
    for line in log.splitlines():
        match = re.match(r"\d{4}-\d\d-\d\d [\d:,]+ (\w+) ", line)
        if match:
            records.append((match.group(1), line))
        elif records:
            records[-1] = (records[-1][0], records[-1][1] + "\n" + line)
    return records


async def reconnecting(connect, attempts=10):
    """What a client does after a retryable close: try again, with a short pause, a bounded number of times."""
    for attempt in range(attempts):
        try:
            return await connect()
        except (websockets.ConnectionClosed, websockets.InvalidStatus, OSError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.3)


async def expert_socket(base, user):
    cookie = (await sync_to_async(session_cookie)(user)).decode()
    ws = await websockets.connect(base.replace("http", "ws") + "/ws/v1/expert/", origin=base, additional_headers={"Cookie": cookie})
    await recv_type(ws, "welcome")
    return ws


async def start_and_claim(visitor, expert):
    await visitor.connect()
    await visitor.ws.send(json.dumps({"type": "conversation.start", "text": "first", "client_id": "v0"}))
    conversation_id = (await recv_type(visitor.ws, "conversation"))["conversation"]["id"]
    await visitor.until_message("first")
    await expert.send(json.dumps({"type": "conversation.claim", "conversation": conversation_id}))
    await recv_type(expert, "conversation")
    return conversation_id


async def expert_says(expert, conversation_id, text):
    await expert.send(json.dumps({"type": "message.send", "conversation": conversation_id, "text": text, "client_id": text}))
    async with asyncio.timeout(5):
        while True:  # the visitor's messages may come first
            ack = await recv_type(expert, "message")
            if ack["message"]["client_id"] == text:
                return ack["message"]


async def closed_code(ws, timeout=5):
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else 1006


@pytest.mark.parametrize("layer", ["pubsub", "redis"])  # CHANNEL_LAYER: both must survive it
async def test_redis_restarted_mid_conversation_loses_and_repeats_nothing(brand, alice, own_redis, layer):
    # Guards against: message loss or duplicates when the channel layer's broker restarts (and 1011 crash-closes).
    from visitors.models import Message

    with daphne_server(REDIS_URL=own_redis.url, CHANNEL_LAYER=layer) as base:
        visitor, expert = Visitor(base), Expert(base, alice.user)
        await expert.connect()
        conversation_id = await start_and_claim(visitor, expert.ws)
        await expert_says(expert.ws, conversation_id, "before")
        await visitor.until_message("before")

        own_redis.stop()
        # Both sides keep talking while Redis is down. Each send is stored and acknowledged, or refused
        # (`unavailable`, or a close that says "reconnect"): then the client reconnects and retries with the
        # same client_id, which cannot succeed until Redis is back.
        pending = []
        for n in range(3):
            for side, text in ((expert, f"expert down {n}"), (visitor, f"visitor down {n}")):
                if side.ws.close_code is not None:
                    with pytest.raises((websockets.ConnectionClosed, websockets.InvalidStatus)):
                        await side.connect()  # the reconnect during the outage is refused with a retryable close too
                    pending.append(text)
                    continue
                said = await (expert.say(conversation_id, text) if side is expert else visitor.say(text))
                assert said in {"stored", "unavailable", "closed"}
                if said != "stored":
                    pending.append(text)
            await asyncio.sleep(0.3)
        own_redis.start()

        await reconnecting(visitor.connect)
        await reconnecting(expert.connect)
        for text in pending:  # the retries, with the same client_id
            said = await (expert.say(conversation_id, text) if text.startswith("expert") else visitor.say(text))
            assert said == "stored", text
        for n in range(3):
            await expert_says(expert.ws, conversation_id, f"after {n}")
        await visitor.until_message("after 2")
        await visitor.ws.close()
        await visitor.connect()  # and one more resume from the last seen seq
        await expert.ws.close()

    stored = await sync_to_async(lambda: list(
        Message.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("seq", "text")))()
    sent = ["first", "before", *(f"{side} down {n}" for n in range(3) for side in ("expert", "visitor")),
            *(f"after {n}" for n in range(3))]
    # Everything sent was stored exactly once, with seq 1, 2, 3... (the retries' order may differ from the attempts').
    assert sorted(text for _, text in stored) == sorted(sent) and [seq for seq, _ in stored] == list(range(1, len(sent) + 1))
    # And the visitor got every stored message once, in order.
    assert list(zip(visitor.seqs, visitor.texts)) == stored, (visitor.seqs, visitor.texts)
    records = log_records(base.log_path.read_text())
    assert not [text for level, text in records if level in {"ERROR", "CRITICAL"}]  # no crash: 1011 and a traceback
    # The visitor token never reaches the server's log (access lines, warnings of the outage).
    assert visitor.token and not [text for _, text in records if visitor.token in text]


async def test_a_server_killed_with_sigkill_loses_nothing_and_presence_moves_on(brand, alice, bob, own_redis):
    # Guards against: lost messages and "ghost online" presence after a server process crashes (no clean disconnect).
    from experts.models import ExpertConnection

    env = {"REDIS_URL": own_redis.url, "CHAT_PRESENCE_HEARTBEAT_SECONDS": 1}
    with daphne_server(**env) as doomed, daphne_server(**env) as survivor:
        visitor = Visitor(doomed)
        expert = await expert_socket(survivor, alice.user)
        ghost = await expert_socket(doomed, bob.user)  # bob is online only through the doomed process
        conversation_id = await start_and_claim(visitor, expert)
        await expert_says(expert, conversation_id, "one")
        await visitor.until_message("one")
        bob_rows = await sync_to_async(ExpertConnection.objects.filter(expert=bob).count)()
        assert bob_rows == 1

        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(timeout=5)
        await closed_code(visitor.ws)
        await expert_says(expert, conversation_id, "two")  # said while the visitor is away
        welcome = await visitor.connect(survivor)  # the client moves to the other process
        assert welcome["conversation"]["id"] == conversation_id
        await expert_says(expert, conversation_id, "three")
        await visitor.until_message("three")
        assert visitor.seqs == [1, 2, 3, 4]

        # Bob's connection died with its process: he stops counting as online, and his row is cleaned up.
        deadline = time.monotonic() + 8
        while True:
            probe = Visitor(survivor)
            online = (await probe.connect())["brand"]["experts_online"]
            await probe.ws.close()
            rows = await sync_to_async(ExpertConnection.objects.filter(expert=bob).count)()
            if online == 1 and rows == 0:
                break
            assert time.monotonic() < deadline, (online, rows)
            await asyncio.sleep(0.5)
        await expert.close()
        del ghost


async def test_sigterm_closes_every_socket_with_a_reconnect_code(brand, alice, own_redis):
    # Guards against: deploys that drop sockets abnormally (1006), so clients cannot tell a restart from a failure.
    with daphne_server(REDIS_URL=own_redis.url) as base:
        visitor = Visitor(base)
        expert = await expert_socket(base, alice.user)
        await start_and_claim(visitor, expert)
        base.process.send_signal(signal.SIGTERM)
        assert await closed_code(visitor.ws) in {1001, 1012}
        assert await closed_code(expert) in {1001, 1012}
        base.process.wait(timeout=10)
    assert "Traceback" not in base.log_path.read_text()
