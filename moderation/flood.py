"""Flood control per visitor and per network address, in storage every process shares.

Two kinds of limit, both in Redis when REDIS_URL is set (so they hold across all
server processes) and in process memory otherwise:

- rates (``check``): moving windows, e.g. 20 messages per 10 seconds. Over the
  limit, the frame is refused with `rate_limited` and nothing is stored. In
  Redis one script checks and counts all of an action's limits (visitor and
  address) in one round trip, on every message; in memory, the `limits`
  library's moving windows.
- open sockets (``OpenSockets``): how many visitor sockets are open AT ONCE per
  visitor and per address. Each socket is a member of a sorted set per scope,
  scored by when it was last seen; the socket refreshes its score every
  CHAT_VISITOR_HEARTBEAT_SECONDS and removes itself when it closes. Members not
  refreshed for three heartbeats (their process died) are ignored and dropped,
  and the whole set expires once nobody refreshes it, so a crash never leaks a
  slot for longer than that. The `limits` library counts events in a window and
  has nothing for "still open", hence these sets; in Redis they are read and
  written by one script (atomic, and timed by the Redis server's clock, so the
  hosts' clocks need not agree).
"""

import asyncio
import logging
import time
import weakref

from django.conf import settings
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.throttled_log import ThrottledWarning

logger = logging.getLogger(__name__)

# Storage down or saturated: flood control fails open (the chat keeps working) and says so,
# one line per 10 s at most: a storm brings thousands of these within seconds.
# Only for these errors: the storage could not be reached, did not answer in time, was a
# replica during a failover (ReadOnlyError); redis' ConnectionError also covers a full pool
# and a Redis still loading. Any other exception is a fault of our own (a bad FLOOD_LIMITS
# entry, a bug): the action is refused with `unavailable` and the error logged with its
# traceback, so a mistake never switches the limits off.
STORAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError, asyncio.TimeoutError)
_rates_unavailable = ThrottledWarning(logger, "flood limits unavailable (%s); an action is let through uncounted")
_claim_unavailable = ThrottledWarning(logger, "open-socket count unavailable (%s); a %s socket is let in uncounted")
_refresh_unavailable = ThrottledWarning(logger, "open-socket count unavailable (%s); refresh skipped")
_release_unavailable = ThrottledWarning(logger, "open-socket count unavailable (%s); release skipped")
_flood_fault = ThrottledWarning(logger, "flood control failed (%s: %s); the action is refused")
FAULT_DETAIL = "The server could not check its limits just now; try again in a moment."


def _refuse_on_fault(exc: Exception) -> ChatError:
    """A fault that is not the storage's: logged (with its traceback, once per 10 s) and refused."""
    _flood_fault.warn(type(exc).__name__, exc, exc_info=exc)
    return ChatError(errors.UNAVAILABLE, FAULT_DETAIL)

# KEYS: one list of timestamps per limit (newest first). ARGV: per key, its amount and window (s).
# Moving windows, as the `limits` library keeps them, but all of an action's limits in one
# round trip: refused (the answer is the 1-based index of the first full one) unless every
# key has room, and then one entry on each. Timed by the Redis server's clock.
_HIT = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
for i, key in ipairs(KEYS) do
  local entry = redis.call('LINDEX', key, tonumber(ARGV[2 * i - 1]) - 1)
  if entry and tonumber(entry) > now - tonumber(ARGV[2 * i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('LPUSH', key, string.format('%.6f', now))
  redis.call('LTRIM', key, 0, tonumber(ARGV[2 * i - 1]) - 1)
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2 * i])))
end
return 0
"""

# Embedded default (one process): the `limits` library's moving windows in memory.
_memory_limiter = None


def _limits_for(action: str, visitor_id, address_hash: str, user_id=None) -> list[tuple]:
    """(rate, scope, key) for each limit of ``action`` that applies."""
    limits = settings.FLOOD_LIMITS.get(action) or {}
    keys = []
    if visitor_id and limits.get("visitor"):
        keys.append((parse(limits["visitor"]), "visitor", str(visitor_id)))
    if address_hash and limits.get("address"):
        keys.append((parse(limits["address"]), "address", address_hash))
    if user_id and limits.get("user"):
        keys.append((parse(limits["user"]), "user", str(user_id)))
    return keys


async def _hit_in_memory(action: str, keys: list[tuple]) -> bool:
    global _memory_limiter
    if _memory_limiter is None:
        _memory_limiter = MovingWindowRateLimiter(MemoryStorage())
    for rate, scope, key in keys:
        if not await _memory_limiter.test(rate, action, scope, key):
            return False
    for rate, scope, key in keys:
        await _memory_limiter.hit(rate, action, scope, key)
    return True


async def _hit_in_redis(action: str, keys: list[tuple]) -> bool:
    _, _, hit = _redis()
    storage_keys = [f"{settings.FLOOD_KEY_PREFIX}:rate:{action}:{scope}:{key}:{rate.amount}/{rate.get_expiry()}"
                    for rate, scope, key in keys]
    window_args = [value for rate, _, _ in keys for value in (rate.amount, rate.get_expiry())]
    return int(await hit(keys=storage_keys, args=window_args)) == 0


async def check(action: str, *, visitor_id=None, address_hash: str = "", user_id=None) -> None:
    """Count one ``action`` for the visitor, the address and the signed-in user; refuse it past any limit.

    A refused action counts against none (all of its limits in one atomic step).
    """
    try:
        keys = _limits_for(action, visitor_id, address_hash, user_id)
        if not keys:
            return
        allowed = await (_hit_in_redis(action, keys) if settings.REDIS_URL else _hit_in_memory(action, keys))
    except STORAGE_ERRORS as exc:  # storage down: fail open, the rest of the chat keeps working
        _rates_unavailable.warn(type(exc).__name__)
        return
    except Exception as exc:
        raise _refuse_on_fault(exc) from exc
    if not allowed:
        raise ChatError(errors.RATE_LIMITED, f"Too many {action.replace('_', ' ')}s; wait a moment and try again.")


async def check_frame(frame_type: str, actions: dict[str, str], **keys) -> None:
    """The check of a socket's frame type: ``actions`` maps frame types to FLOOD_LIMITS actions."""
    action = actions.get(frame_type)
    if action is not None:
        await check(action, **keys)


# --- open sockets at once ---------------------------------------------------------

# KEYS: one sorted set per scope. ARGV: stale seconds, set lifetime (s), member,
# then each key's cap (0: this call only refreshes). Atomic: either the member joins
# every set or, when one is full, none (the answer is the 1-based index of the full one).
_CLAIM = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local stale_before = now - tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', stale_before)
  local cap = tonumber(ARGV[3 + i])
  if cap > 0 and not redis.call('ZSCORE', key, ARGV[3]) and redis.call('ZCARD', key) >= cap then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('EXPIRE', key, ARGV[2])
end
return 0
"""

_redis_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()
# Embedded default (one process): key -> {member: last seen}.
_memory_sockets: dict[str, dict[str, float]] = {}


def _redis():
    """One client per event loop (a connection pool belongs to one loop), and the two scripts on it.

    The pool blocks: past FLOOD_REDIS_CONNECTIONS a check waits (up to
    FLOOD_REDIS_WAIT_SECONDS) for a connection to come back. redis-py's default
    pool instead refuses a command past 100 connections (MaxConnectionsError),
    and flood control fails open, so a burst of handshakes (a reconnect storm,
    or an attack) went through uncounted; it also opened a connection per
    concurrent check. A few dozen connections keep one Redis busy, since each
    script is a single short round trip.
    """
    import redis.asyncio as aioredis

    loop = asyncio.get_running_loop()
    scripts = _redis_clients.get(loop)
    if scripts is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=settings.FLOOD_REDIS_CONNECTIONS,
            timeout=settings.FLOOD_REDIS_WAIT_SECONDS,
            socket_connect_timeout=2,
            socket_timeout=2,
        )
        client = aioredis.Redis.from_pool(pool)
        scripts = _redis_clients[loop] = (client, client.register_script(_CLAIM), client.register_script(_HIT))
    return scripts


def _stale_seconds() -> float:
    return 3 * float(settings.CHAT_VISITOR_HEARTBEAT_SECONDS)


def _memory_claim(keys: list[str], member: str, caps: list[int]) -> int:
    now = time.time()
    stale_before = now - _stale_seconds()
    for i, (key, cap) in enumerate(zip(keys, caps), start=1):
        members = _memory_sockets.setdefault(key, {})
        for other in [m for m, seen in members.items() if seen <= stale_before]:
            del members[other]
        if cap > 0 and member not in members and len(members) >= cap:
            return i
    for key in keys:
        _memory_sockets[key][member] = now
    return 0


def _memory_release(keys: list[str], member: str) -> None:
    for key in keys:
        members = _memory_sockets.get(key)
        if members is not None:
            members.pop(member, None)
            if not members:
                del _memory_sockets[key]


class OpenSockets:
    """One visitor socket's places in the counts of open sockets, per visitor and per address.

    ``claim`` when the socket learns who it serves (its address at connect, its
    visitor at hello), ``refresh`` on every heartbeat, ``release`` when it closes.
    """

    def __init__(self, channel_name: str):
        self.member = channel_name
        self.keys: dict[str, str] = {}  # scope -> storage key held

    @staticmethod
    def _key(scope: str, key: str) -> str:
        return f"{settings.FLOOD_KEY_PREFIX}:open:{scope}:{key}"

    async def claim(self, scope: str, key) -> None:
        """Count this socket as open for the visitor or address ``key``; refuse it past the cap."""
        cap = int(settings.FLOOD_OPEN_SOCKETS.get(scope) or 0)
        if not key or cap <= 0 or scope in self.keys:  # no cap: nothing to count
            return
        storage_key = self._key(scope, str(key))
        try:
            full = await self._claim([storage_key], [cap])
        except STORAGE_ERRORS as exc:  # storage down: fail open, as the rate limits do
            _claim_unavailable.warn(type(exc).__name__, scope)
            return
        except Exception as exc:
            raise _refuse_on_fault(exc) from exc
        if full:
            raise ChatError(errors.RATE_LIMITED, "Too many chat windows are open at once; close one and try again.")
        self.keys[scope] = storage_key

    async def refresh(self) -> None:
        """Tell the other processes this socket is still open (its entries would go stale otherwise)."""
        if not self.keys:
            return
        keys = list(self.keys.values())
        try:
            await self._claim(keys, [0] * len(keys))
        except STORAGE_ERRORS as exc:  # storage down: the next beat refreshes (a bug is raised, not hidden)
            _refresh_unavailable.warn(type(exc).__name__)

    async def release(self) -> None:
        keys, self.keys = list(self.keys.values()), {}
        if not keys:
            return
        if not settings.REDIS_URL:
            _memory_release(keys, self.member)
            return
        try:
            client, _, _ = _redis()
            async with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, self.member)
                await pipe.execute()
        except STORAGE_ERRORS as exc:  # it goes stale and is dropped within three heartbeats anyway
            _release_unavailable.warn(type(exc).__name__)

    async def _claim(self, keys: list[str], caps: list[int]) -> int:
        if not settings.REDIS_URL:
            return _memory_claim(keys, self.member, caps)
        lifetime = max(1, int(_stale_seconds() + 0.999))
        _, claim, _ = _redis()
        return int(await claim(keys=keys, args=[_stale_seconds(), lifetime, self.member, *caps]))
