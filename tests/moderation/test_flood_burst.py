"""Flood control in Redis holds under a burst: many checks at once are each counted, none let through uncounted.

A reconnect storm or an attack brings hundreds of visitor handshakes at the same
moment, each with its flood checks. redis-py's asyncio pool refuses a command
past its size (MaxConnectionsError) instead of waiting, and flood control fails
open when its storage cannot answer; with a pool of redis-py's default size,
most of a burst of checks went through uncounted: rate limits and open-socket
caps did not hold exactly when they were needed.
"""

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from chatplatform.errors import ChatError
from moderation import flood
from tests.support import redis_url

pytestmark = pytest.mark.redis

BURST = 400  # more than redis-py's default pool of 100 connections, well under the cap of 10,000 sockets


@pytest.fixture
def in_redis(settings):
    settings.REDIS_URL = redis_url()
    settings.FLOOD_KEY_PREFIX = f"burst-{uuid.uuid4().hex[:8]}"
    return settings


async def outcomes(calls) -> tuple[int, int]:
    """(allowed, refused with rate_limited) of coroutines run all at once."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    others = [r for r in results if r is not None and not isinstance(r, ChatError)]
    assert not others, others[:3]
    refused = [r for r in results if isinstance(r, ChatError)]
    assert all(r.code == "rate_limited" for r in refused)
    return len(results) - len(refused), len(refused)


async def test_a_rate_limit_holds_exactly_under_a_burst_of_checks(in_redis, caplog):
    in_redis.FLOOD_LIMITS = {**in_redis.FLOOD_LIMITS, "message": {"address": "150/minute"}}
    allowed, refused = await outcomes(flood.check("message", address_hash="one-address") for _ in range(BURST))
    assert (allowed, refused) == (150, BURST - 150)
    assert "unavailable" not in caplog.text


async def test_an_open_socket_cap_holds_exactly_under_a_burst_and_every_release_frees_its_place(in_redis, caplog):
    in_redis.FLOOD_OPEN_SOCKETS = {**in_redis.FLOOD_OPEN_SOCKETS, "address": 150}
    sockets = [flood.OpenSockets(f"channel-{n}") for n in range(BURST)]
    allowed, refused = await outcomes(s.claim("address", "one-address") for s in sockets)
    assert (allowed, refused) == (150, BURST - 150)

    await asyncio.gather(*(s.release() for s in sockets))
    client = aioredis.from_url(in_redis.REDIS_URL)
    try:
        assert await client.zcard(flood.OpenSockets._key("address", "one-address")) == 0  # nobody left counted
    finally:
        await client.aclose()
    assert "unavailable" not in caplog.text
    # The places are free again: a new socket on that address is let in and counted.
    late = flood.OpenSockets("channel-late")
    await late.claim("address", "one-address")
    assert late.keys
    await late.release()
