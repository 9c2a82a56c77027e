"""How the sockets run the services' database work.

Channels' ``database_sync_to_async`` runs every call of the whole process on
one thread: a burst of handshakes (a reconnect storm, a deploy) then waits in
one queue behind each other's round trips, and daphne drops a handshake not
accepted within 5 s. On PostgreSQL each call here runs on a small pool of
threads instead (CHAT_DB_THREADS, each with its own connection), so round
trips overlap. A socket still awaits its own calls one after another, so its
frames keep their order; the services lock what must not race. SQLite keeps
the single thread (one writer at a time is all it allows anyway).

A call on the pool is a ``PooledCall``: what Channels' ``DatabaseSyncToAsync``
does for a thread pool (stale connections closed around the call, the
caller's context variables visible in it, the event loop known to the thread
for chatplatform.events), without asgiref's general machinery for
thread-sensitive calls, which cost as much CPU on the event loop as the
call's own database work in a reconnect storm (docs/performance.md).

The pool serves the oldest socket first (``OldestFirstExecutor``). Every
socket's task marks its calls with the moment it opened (``SOCKET_OPENED``,
set by chatplatform.consumers). In first-come order, a burst of 4,000
handshakes of two calls each ran all 4,000 first calls before any second
one, so every socket was greeted at the very end of the burst; oldest first,
they are greeted one after another from the start. And the conversations
already under way are never held up behind a crowd of new handshakes.

Health checks (``DB_CONN_HEALTH_CHECKS``): Django pings a kept connection
(``SELECT 1``) before the first query of every "request", and to Django each
call here is one, so every read mark paid a second round trip and a second
PostgreSQL transaction (docs/performance.md, December 6th). Here a call pings
only when the connection may have died: something arrived on its socket while
it sat idle (a failover's ``pg_terminate_backend`` sends its FATAL and closes,
so the socket turns readable), or it sat idle longer than
``DB_HEALTH_CHECK_IDLE_SECONDS`` (a peer gone without a word). Either way a
dead connection is still replaced before the call uses it.
"""

import asyncio
import contextvars
import functools
import itertools
import math
import os
import queue
import select
import threading
from concurrent.futures import Executor, Future
from time import monotonic

from asgiref.sync import SyncToAsync
from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import Error as DjangoDatabaseError
from django.db import close_old_connections, connections

try:
    from psycopg import Error as PsycopgError
except ImportError:  # SQLite-only installs
    PsycopgError = DjangoDatabaseError

# What a database that is away for a moment raises: through Django (the threads) or psycopg
# itself (the hot path's pool, chatplatform/asyncdb.py). Sockets answer these `unavailable` or
# close with 1012 (chatplatform/consumers.py), never 1011.
DATABASE_ERRORS = (DjangoDatabaseError, PsycopgError)

# When the chat socket whose task this is opened (time.monotonic()); None: not a socket's task.
# Set by chatplatform.consumers.ProtocolConsumer; also read by chatplatform/layers.py.
SOCKET_OPENED: contextvars.ContextVar[float | None] = contextvars.ContextVar("socket_opened", default=None)


class OldestFirstExecutor(Executor):
    """A thread pool that runs the call of the oldest socket first.

    A call made outside any socket counts as opened when it is submitted.
    Among equals, first come first served.
    """

    def __init__(self, max_workers: int, thread_name_prefix: str = "chat-db"):
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shut = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        opened = SOCKET_OPENED.get()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: Future = Future()
            self._queue.put((monotonic() if opened is None else opened, next(self._order), future, fn, args, kwargs))
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def _work(self) -> None:
        while True:
            _, _, future, fn, args, kwargs = self._queue.get()
            if future is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # as ThreadPoolExecutor: the caller hears it
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, fn, args, kwargs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
            threads = list(self._threads)
        if cancel_futures:  # as ThreadPoolExecutor: what no thread has started is cancelled
            while True:
                try:
                    future = self._queue.get_nowait()[2]
                except queue.Empty:
                    break
                if future is not None:
                    future.cancel()
        for _ in threads:  # after everything queued: the work already asked for is done first
            self._queue.put((math.inf, next(self._order), None, None, None, None))
        if wait:
            for thread in threads:
                thread.join()


_executor: OldestFirstExecutor | None = None


def _pool() -> OldestFirstExecutor | None:
    global _executor
    threads = settings.CHAT_DB_THREADS
    if threads <= 1 or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return None
    if _executor is None:
        _executor = OldestFirstExecutor(max_workers=threads, thread_name_prefix="chat-db")
    return _executor


def _socket_has_news(connection) -> bool:
    """Whether anything (or a hang-up) arrived on an idle connection's socket: then it may be dead."""
    try:
        fd = connection.connection.fileno()
    except Exception:  # closed or broken beyond asking: let Django's ping decide
        return True
    poller = select.poll()  # not select.select: a server with 4,000 sockets has descriptors past 1,024
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _ping_only_if_needed() -> None:
    """Spare Django's health-check ping on connections that cannot have died quietly (module docstring).

    Sets Django's ``health_check_done`` (a private attribute; Django is pinned exactly and
    tests/test_db_pool.py fails if the attribute stops sparing the ping).
    """
    now = monotonic()
    idle_limit = settings.DB_HEALTH_CHECK_IDLE_SECONDS
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or connection.vendor != "postgresql":
            continue
        if not connection.health_check_enabled or connection.health_check_done:
            continue
        last_used = getattr(connection, "chat_last_used", None)
        if last_used is not None and now - last_used < idle_limit and not _socket_has_news(connection):
            connection.health_check_done = True


def _note_use() -> None:
    now = monotonic()
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            connection.chat_last_used = now


def _run_in_thread(loop, func, args, kwargs):
    # What asgiref's thread handler tells the thread: chatplatform.events hands events to this loop.
    SyncToAsync.threadlocal.main_event_loop = loop
    SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
    close_old_connections()
    _ping_only_if_needed()
    try:
        return func(*args, **kwargs)
    finally:
        _note_use()
        close_old_connections()


def _settle(waiter: asyncio.Future, work: Future) -> None:
    if waiter.done():  # its caller was cancelled meanwhile
        return
    if work.cancelled():
        waiter.cancel()
    elif (exc := work.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(work.result())


def _wake(loop, waiter: asyncio.Future, work: Future) -> None:
    try:
        loop.call_soon_threadsafe(_settle, waiter, work)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


class PooledCall:
    """``await PooledCall(func, pool)(*args)``: ``func(*args)`` on a thread of ``pool`` (module docstring).

    A cancelled caller cancels the call if no thread has started it yet; one
    already running ends in its thread, as with asgiref.
    """

    __slots__ = ("func", "pool")

    def __init__(self, func, pool: Executor):
        self.func, self.pool = func, pool

    async def __call__(self, *args, **kwargs):
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        work = self.pool.submit(contextvars.copy_context().run, _run_in_thread, loop, self.func, args, kwargs)
        work.add_done_callback(functools.partial(_wake, loop, waiter))
        try:
            return await waiter
        except asyncio.CancelledError:
            work.cancel()
            raise


def database_sync_to_async(func):
    """Like Channels' helper (stale connections closed around each call), on the pool where there is one."""
    pool = _pool()
    if pool is None:
        return DatabaseSyncToAsync(func)
    return PooledCall(func, pool)


def shutdown() -> None:
    """Stop the pool's threads; their connections close with them (tests, before the test database goes)."""
    global _executor
    if _executor is not None:
        import gc

        _executor.shutdown(wait=True)
        _executor = None
        gc.collect()


def _close_request_connections(sender, **kwargs) -> None:
    # On the request's own thread (Django runs request_finished's sync receivers there).
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def close_connections_after_requests() -> None:
    """Under the ASGI server, close each HTTP request's database connections when it finishes.

    Django runs each request's view on a thread of its own (asgiref's
    ThreadSensitiveContext), so a connection kept for CONN_MAX_AGE outlives its
    thread: nothing reuses it, and it closes only when the garbage collector,
    tuned to run rarely (chatplatform/gc_tuning.py), frees it. 80 requests left
    81 connections open; 200 sign-ins in a row ran PostgreSQL out of them.
    The sockets' threads above keep theirs (CONN_MAX_AGE): they live as long
    as the process. Connected for Django's ASGIHandler only, so the test
    client's requests (inside a test's transaction) are left alone.
    """
    from django.core.handlers.asgi import ASGIHandler
    from django.core.signals import request_finished

    request_finished.connect(_close_request_connections, sender=ASGIHandler, dispatch_uid="chatplatform.db.close_request_connections")
