"""How the sockets run the services' database work.

Channels' ``database_sync_to_async`` runs every call of the whole process on
one thread: a burst of handshakes (a reconnect storm, a deploy) then waits in
one queue behind each other's round trips, and daphne drops a handshake not
accepted within 5 s. On PostgreSQL each call here runs on a small pool of
threads instead (CHAT_DB_THREADS, each with its own connection), so round
trips overlap. A socket still awaits its own calls one after another, so its
frames keep their order; the services lock what must not race. SQLite keeps
the single thread (one writer at a time is all it allows anyway).
"""

from concurrent.futures import ThreadPoolExecutor

from channels.db import DatabaseSyncToAsync
from django.conf import settings

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor | None:
    global _executor
    threads = settings.CHAT_DB_THREADS
    if threads <= 1 or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return None
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chat-db")
    return _executor


def database_sync_to_async(func):
    """Like Channels' helper (stale connections closed around each call), on the pool where there is one."""
    pool = _pool()
    if pool is None:
        return DatabaseSyncToAsync(func)
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=pool)


def shutdown() -> None:
    """Stop the pool's threads; their connections close with them (tests, before the test database goes)."""
    global _executor
    if _executor is not None:
        import gc

        _executor.shutdown(wait=True)
        _executor = None
        gc.collect()
