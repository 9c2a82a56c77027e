"""Flood control per visitor and per network address, in storage every process shares.

Built on the `limits` library's moving windows: Redis when REDIS_URL is set (so a
limit holds across all server processes), process memory otherwise. Over the
limit, the frame is refused with `rate_limited` and nothing is stored.
"""

import asyncio
import weakref

from django.conf import settings
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chatplatform import errors
from chatplatform.errors import ChatError

# Keyed by the loop itself (not its id, which a later loop may reuse).
_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MovingWindowRateLimiter]" = weakref.WeakKeyDictionary()
_memory_storage = None


def _limiter() -> MovingWindowRateLimiter:
    """One limiter per event loop (a Redis connection pool belongs to one loop)."""
    global _memory_storage
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        if settings.REDIS_URL:
            uri = "async+" + settings.REDIS_URL
            storage = RedisStorage(uri, implementation="redispy", key_prefix=settings.FLOOD_KEY_PREFIX)
        else:
            _memory_storage = _memory_storage or MemoryStorage()
            storage = _memory_storage
        limiter = MovingWindowRateLimiter(storage)
        _limiters[loop] = limiter
    return limiter


async def check(action: str, *, visitor_id=None, address_hash: str = "") -> None:
    """Count one ``action`` for the visitor and for the address; refuse it past either limit."""
    limits = settings.FLOOD_LIMITS.get(action)
    if not limits:
        return
    limiter = _limiter()
    keys = []
    if visitor_id and limits.get("visitor"):
        keys.append((parse(limits["visitor"]), "visitor", str(visitor_id)))
    if address_hash and limits.get("address"):
        keys.append((parse(limits["address"]), "address", address_hash))
    for rate, scope, key in keys:
        try:
            allowed = await limiter.hit(rate, action, scope, key)
        except Exception:  # storage down: fail open, the rest of the chat keeps working
            return
        if not allowed:
            raise ChatError(errors.RATE_LIMITED, f"Too many {action.replace('_', ' ')}s; wait a moment and try again.")


async def reset() -> None:
    """Forget every counter (tests)."""
    await _limiter().storage.reset()
