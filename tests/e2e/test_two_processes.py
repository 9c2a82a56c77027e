"""Past one machine: two daphne processes, one database, one Redis, no sticky sessions.

The visitor's socket is on one process and the expert's on the other; every
event between them crosses the channel layer (channels-redis). A visitor who
reconnects to the *other* process with its token and last seq gets exactly the
messages it missed.

The helpers here (``ServerProcess``, ``two_servers``, ``open_visitor``,
``open_expert``, ``conversation_across_processes``) are meant for more
cross-process tests, e.g. a block placed through one process closing the
visitor's sockets on the other.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from django.conf import settings

from tests import support
from tests.e2e.servers import database_url, free_port

pytestmark = [pytest.mark.redis, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BRAND_ORIGIN = "https://shop.acme.test"
WAIT = 15  # seconds; generous: the machine may be busy, and nothing here is a timing assertion


class ServerProcess:
    """One daphne process on chatplatform.asgi, on the test database and the shared Redis."""

    def __init__(self, env: dict, log_dir: Path):
        self.port = free_port()
        self.log = open(log_dir / f"daphne-{self.port}.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatplatform.serve", "-b", "127.0.0.1", "-p", str(self.port), "chatplatform.asgi:application"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited ({self.proc.returncode}):\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not listen on {self.port}:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(params=["redis", "pubsub"])
def two_servers(tmp_path, request):
    """Two server processes sharing the test database and one Redis (a prefix of their own), on each channel layer."""
    prefix = "e2e" + secrets.token_hex(4)
    env = {
        **os.environ,
        "CHANNEL_LAYER": request.param,
        "DJANGO_SETTINGS_MODULE": "chatplatform.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": support.redis_url(),
        "CHANNEL_PREFIX": prefix,
        "CACHE_PREFIX": prefix + "cache",
        "FLOOD_KEY_PREFIX": prefix + "flood",  # not the production prefix, nor another run's counts
        "SECRET_KEY": settings.SECRET_KEY,  # the session cookies are made here
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "",
        "LOG_LEVEL": "WARNING",
    }
    servers = [ServerProcess(env, tmp_path), ServerProcess(env, tmp_path)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()
        import redis

        client = redis.Redis.from_url(support.redis_url())
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


# --- clients --------------------------------------------------------------------------

async def send(ws, frame: dict) -> None:
    await ws.send(orjson.dumps(frame).decode())


async def recv_type(ws, frame_type: str, timeout: float = WAIT, where=None) -> dict:
    """Receive frames until one of ``frame_type`` (matching ``where``, if given); return it."""
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == frame_type and (where is None or where(frame)):
                return frame


async def open_visitor(server: ServerProcess, *, brand: str = "acme", token=None, last_seq: int = 0):
    """A visitor widget's socket after hello; returns (socket, welcome)."""
    from websockets.asyncio.client import connect

    ws = await connect(f"{server.url}/ws/v1/visitor/{brand}/", origin=BRAND_ORIGIN, open_timeout=WAIT, proxy=None)
    await send(ws, {"type": "hello", "token": token, "last_seq": last_seq})
    return ws, await recv_type(ws, "welcome")


async def open_visitor_raw(server: ServerProcess, *, brand: str = "acme", token=None):
    """A visitor socket that has sent hello, with nothing read yet; returns (socket, None)."""
    from websockets.asyncio.client import connect

    ws = await connect(f"{server.url}/ws/v1/visitor/{brand}/", origin=BRAND_ORIGIN, open_timeout=WAIT, proxy=None)
    await send(ws, {"type": "hello", "token": token, "last_seq": 0})
    return ws, None


async def open_expert(server: ServerProcess, cookie: str):
    """An expert dashboard's socket (session cookie, own origin); returns (socket, welcome)."""
    from websockets.asyncio.client import connect

    ws = await connect(
        f"{server.url}/ws/v1/expert/", origin=server.origin, additional_headers={"Cookie": cookie}, open_timeout=WAIT, proxy=None
    )
    return ws, await recv_type(ws, "welcome")


async def conversation_across_processes(visitor_server: ServerProcess, expert_server: ServerProcess, expert_cookie: str):
    """An active conversation: the visitor on one process, the expert on the other, claimed.

    Returns (visitor socket, visitor token, expert socket, conversation id).
    """
    expert, _ = await open_expert(expert_server, expert_cookie)
    visitor, welcome = await open_visitor(visitor_server)
    await send(visitor, {"type": "conversation.start", "text": "Which size?", "client_id": "start"})
    started = await recv_type(visitor, "conversation")
    conversation_id = started["id"]
    offered = await recv_type(expert, "queue.added")  # crossed from the visitor's process
    assert offered["conversation"]["id"] == conversation_id
    await send(expert, {"type": "conversation.claim", "conversation": conversation_id})
    claimed = await recv_type(expert, "conversation", where=lambda f: f["id"] == conversation_id)
    assert claimed["status"] == "active"
    seen = await recv_type(visitor, "conversation", where=lambda f: f["status"] == "active")
    assert seen["expert"]["display_name"] == "Alice"
    return visitor, welcome["token"], expert, conversation_id


def message_texts(frames) -> list[tuple[int, str]]:
    return [(m["seq"], m["text"]) for m in frames]


# --- the test --------------------------------------------------------------------------------

def test_a_conversation_spans_two_server_processes(two_servers, brand, alice):
    cookie = support.session_cookie(alice.user).decode()
    server_a, server_b = two_servers

    async def scenario():
        visitor, token, expert, conversation_id = await conversation_across_processes(server_a, server_b, cookie)
        try:
            # Both ways, each crossing the channel layer between the processes.
            await send(visitor, {"type": "message.send", "text": "from the visitor", "client_id": "v1"})
            got = await recv_type(expert, "message", where=lambda f: f["author"] == "visitor" and f["seq"] == 2)
            assert got["text"] == "from the visitor"
            await send(expert, {"type": "message.send", "conversation": conversation_id, "text": "from the expert", "client_id": "e1"})
            got = await recv_type(visitor, "message", where=lambda f: f["author"] == "expert")
            assert (got["seq"], got["text"]) == (3, "from the expert")

            # The visitor drops; the expert goes on writing.
            await visitor.close()
            for n in (1, 2):
                await send(expert, {"type": "message.send", "conversation": conversation_id, "text": f"missed {n}", "client_id": f"m{n}"})
                await recv_type(expert, "message", where=lambda f, n=n: f["client_id"] == f"m{n}")  # stored

            # Back on the OTHER process with token + last seq: exactly the missed ones.
            visitor, welcome = await open_visitor(server_b, token=token, last_seq=3)
            assert welcome["conversation"]["id"] == conversation_id
            assert message_texts(welcome["messages"]) == [(4, "missed 1"), (5, "missed 2")]

            # And it is live again, both ways.
            await send(expert, {"type": "message.send", "conversation": conversation_id, "text": "still here?", "client_id": "e2"})
            got = await recv_type(visitor, "message", where=lambda f: f["author"] == "expert")
            assert (got["seq"], got["text"]) == (6, "still here?")
            await send(visitor, {"type": "message.send", "text": "yes", "client_id": "v2"})
            got = await recv_type(expert, "message", where=lambda f: f["author"] == "visitor" and f["seq"] == 7)
            assert got["text"] == "yes"

            # A block placed through the expert's process shuts the visitor out on the other one.
            await send(expert, {"type": "moderation.block", "conversation": conversation_id, "reason": "Abuse", "duration_hours": 1})
            created = await recv_type(expert, "block.created")
            refused = await recv_type(visitor, "error")
            assert refused["code"] == "blocked" and refused["until"] == created["block"]["until"]
            with pytest.raises(ConnectionClosed):
                await recv_type(visitor, "never")
            assert visitor.close_code == 4403
            for server in (server_a, server_b):  # and neither process lets it back in
                again, _ = await open_visitor_raw(server, token=token)
                assert (await recv_type(again, "error"))["code"] == "blocked"
                await again.close()
        finally:
            await visitor.close()
            await expert.close()

    asyncio.run(scenario())
