"""The message hot path's own PostgreSQL connections, used from the event loop.

Django's database layer is synchronous, so every call from a socket goes to
a thread (chatplatform/db.py): the thread pool, the GIL passed back and forth,
and Django's cursor wrappers around two short statements: measurably more
CPU per message than the same statements from the loop (docs/performance.md,
``python -m bench.hotpath_loop``). So the message store's ``loop`` backend
(visitors/store.py) runs on a small pool of psycopg async connections owned by the event loop.
Everything else, including every fallback of the fast path, stays on
Django's connections.

PostgreSQL only. Set CHAT_ASYNC_DB=0 to send the hot path through the threads
as well, for example behind a pooler that does not allow prepared statements.
The pool keeps CHAT_ASYNC_DB_CONNECTIONS connections, in addition to
CHAT_DB_THREADS.
"""

import asyncio
import logging
import weakref

from django.conf import settings

logger = logging.getLogger(__name__)

_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()


def enabled() -> bool:
    return bool(settings.CHAT_ASYNC_DB) and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _connection_params(settings_dict: dict | None = None) -> dict:
    """The pool's connection parameters, derived from ``DATABASES["default"]`` (or ``settings_dict``).

    Django's PostgreSQL backend turns the entry into psycopg's keywords (NAME, USER, PASSWORD,
    HOST, PORT and OPTIONS such as sslmode), so the pool connects exactly as Django's
    own connections do; only Django's Python-side adapters are left out.
    """
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    wrapper = DatabaseWrapper(settings_dict) if settings_dict is not None else connections["default"]
    params = dict(wrapper.get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return params


async def pool():
    """This event loop's pool, opened on first use; None when the hot path should use the threads."""
    if not enabled():
        return None
    loop = asyncio.get_running_loop()
    existing = _pools.get(loop)
    if existing is not None:
        return existing
    from psycopg_pool import AsyncConnectionPool

    size = max(1, settings.CHAT_ASYNC_DB_CONNECTIONS)
    new = AsyncConnectionPool(
        kwargs={**_connection_params(), "autocommit": True},
        min_size=size, max_size=size, timeout=settings.CHAT_ASYNC_DB_WAIT_SECONDS,
        open=False, name="chat-hot-path",
    )
    _pools[loop] = new
    await new.open(wait=False)
    return new


async def close() -> None:
    """Close this event loop's pool (tests, before their database goes; a server closes with its process)."""
    loop = asyncio.get_running_loop()
    existing = _pools.pop(loop, None)
    if existing is not None:
        await existing.close()
