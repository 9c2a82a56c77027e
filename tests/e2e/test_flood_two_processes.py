"""Flood limits live in Redis, so they hold across server processes."""

import asyncio
import json
import uuid

import pytest
import websockets

from tests.e2e.servers import daphne_server
from tests.support import redis_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.redis]


async def recv_type(ws, frame_type, timeout=5):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in (frame_type, "error"):
                return frame


async def test_message_limit_holds_across_two_processes(brand):
    prefix = uuid.uuid4().hex[:8]
    env = {
        "REDIS_URL": redis_url(),
        "CHANNEL_PREFIX": f"t{prefix}",
        "FLOOD_KEY_PREFIX": f"f{prefix}",
        "CACHE_PREFIX": f"c{prefix}",
        "FLOOD_MESSAGES_PER_VISITOR": "4/minute",
    }
    with daphne_server(**env) as first, daphne_server(**env) as second:
        async with websockets.connect(first.replace("http", "ws") + "/ws/v1/visitor/acme/", origin="https://shop.acme.test") as one:
            await one.send(json.dumps({"type": "hello", "token": None}))
            token = (await recv_type(one, "welcome"))["token"]
            await one.send(json.dumps({"type": "conversation.start", "text": "hello", "client_id": "s"}))
            await recv_type(one, "conversation")
            for n in range(3):
                await one.send(json.dumps({"type": "message.send", "text": f"a{n}", "client_id": f"a{n}"}))
                assert (await recv_type(one, "message"))["type"] == "message"
        async with websockets.connect(second.replace("http", "ws") + "/ws/v1/visitor/acme/", origin="https://shop.acme.test") as two:
            await two.send(json.dumps({"type": "hello", "token": token}))
            await recv_type(two, "welcome")
            await two.send(json.dumps({"type": "message.send", "text": "b0", "client_id": "b0"}))
            assert (await recv_type(two, "message"))["message"]["seq"] == 5
            await two.send(json.dumps({"type": "message.send", "text": "b1", "client_id": "b1"}))
            refused = await recv_type(two, "message")
            assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["ref"] == "b1"
