"""The database pool serves the oldest socket first (chatplatform/db.py)."""

import asyncio
import contextvars
import threading
import time

import pytest

from chatplatform.db import SOCKET_OPENED, OldestFirstExecutor


def _submit_as(executor, opened, fn, *args):
    """Submit as a socket opened at ``opened`` would (its task's context)."""
    context = contextvars.copy_context()
    context.run(SOCKET_OPENED.set, opened)
    return context.run(executor.submit, fn, *args)


def test_the_oldest_sockets_call_runs_first_whatever_the_order_it_came_in():
    # Guards against: first-come order, in which a burst of handshakes of two calls each runs every
    # first call before any second one, and every socket is greeted at the very end of the burst.
    executor = OldestFirstExecutor(max_workers=1)
    gate = threading.Event()
    ran = []
    try:
        blocker = executor.submit(gate.wait, 5)  # the one thread is busy meanwhile
        futures = [_submit_as(executor, opened, ran.append, opened) for opened in (30.0, 10.0, 20.0, 10.0)]
        gate.set()
        assert blocker.result(5) is True
        for future in futures:
            future.result(5)
        assert ran == [10.0, 10.0, 20.0, 30.0]
    finally:
        gate.set()
        executor.shutdown()


def test_a_call_from_no_socket_counts_from_when_it_was_asked():
    executor = OldestFirstExecutor(max_workers=1)
    gate = threading.Event()
    ran = []
    try:
        executor.submit(gate.wait, 5)
        newer = _submit_as(executor, float("inf"), ran.append, "a socket opened later than everything")
        plain = executor.submit(ran.append, "no socket")
        gate.set()
        newer.result(5), plain.result(5)
        assert ran == ["no socket", "a socket opened later than everything"]
    finally:
        gate.set()
        executor.shutdown()


def test_errors_reach_the_caller_and_shutdown_finishes_what_was_asked():
    executor = OldestFirstExecutor(max_workers=2)
    failing = executor.submit(int, "not a number")
    with pytest.raises(ValueError):
        failing.result(5)
    gate = threading.Event()
    executor.submit(gate.wait, 5)
    executor.submit(gate.wait, 5)
    queued = executor.submit(lambda: "done")
    threading.Timer(0.1, gate.set).start()
    executor.shutdown(wait=True)
    assert queued.result(0) == "done"
    with pytest.raises(RuntimeError):
        executor.submit(int, "1")


def test_shutdown_with_cancel_futures_cancels_what_no_thread_started():
    executor = OldestFirstExecutor(max_workers=1)
    gate = threading.Event()
    running = executor.submit(gate.wait, 5)
    for _ in range(500):  # until the one thread has taken it
        if running.running():
            break
        time.sleep(0.01)
    waiting = executor.submit(lambda: "never")
    threading.Timer(0.1, gate.set).start()
    executor.shutdown(wait=True, cancel_futures=True)
    assert running.result(0) is True and waiting.cancelled()


@pytest.mark.django_db(transaction=True)
async def test_a_sockets_task_marks_its_database_calls_with_when_it_opened(connect, brand, monkeypatch):
    # Guards against: the consumers not marking their task, so the pool would serve in first-come order.
    from visitors import socket_actions

    seen = []
    real = socket_actions._lookup

    def looking(*args):
        seen.append(SOCKET_OPENED.get())
        return real(*args)

    monkeypatch.setattr(socket_actions, "_lookup", looking)
    loop = asyncio.get_running_loop()
    before = loop.time()
    first = await connect.visitor()
    second = await connect.visitor(token=first.token)
    assert len(seen) == 2 and before <= seen[0] < seen[1] <= loop.time()


# --- a call on the pool (PooledCall) ---------------------------------------------------------

async def test_a_pooled_call_gives_its_result_or_its_error_and_sees_the_callers_context():
    from chatplatform.db import PooledCall

    executor = OldestFirstExecutor(max_workers=2)
    try:
        SOCKET_OPENED.set(12.5)
        assert await PooledCall(lambda a, b=0: (a + b, SOCKET_OPENED.get(), threading.current_thread().name), executor)(1, b=2) == (
            3, 12.5, "chat-db_0")
        with pytest.raises(ValueError):
            await PooledCall(int, executor)("not a number")
    finally:
        executor.shutdown()


async def test_a_pooled_call_tells_its_thread_the_loop_so_events_are_handed_to_it():
    # Guards against: events sent after commit from the pool blocking its thread on the channel layer
    # (chatplatform/events.py finds the loop the way asgiref's thread handler leaves it).
    from chatplatform import events
    from chatplatform.db import PooledCall

    executor = OldestFirstExecutor(max_workers=1)
    try:
        assert await PooledCall(events._server_loop, executor)() is asyncio.get_running_loop()
    finally:
        executor.shutdown()


async def test_a_cancelled_caller_drops_its_call_if_no_thread_has_started_it():
    from chatplatform.db import PooledCall

    executor = OldestFirstExecutor(max_workers=1)
    gate = threading.Event()
    ran = []
    try:
        busy = asyncio.ensure_future(PooledCall(gate.wait, executor)(5))
        queued = asyncio.ensure_future(PooledCall(ran.append, executor)("should not run"))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        gate.set()
        assert await busy is True
        assert await PooledCall(ran.append, executor)("runs") is None
        assert ran == ["runs"]
    finally:
        gate.set()
        executor.shutdown()


async def test_a_pooled_call_closes_stale_connections_before_and_after(monkeypatch):
    # As Channels' DatabaseSyncToAsync: a connection past CONN_MAX_AGE or broken is not reused.
    from chatplatform import db
    from chatplatform.db import PooledCall

    closes = []
    monkeypatch.setattr(db, "close_old_connections", lambda: closes.append(threading.current_thread().name))
    executor = OldestFirstExecutor(max_workers=1)
    try:
        await PooledCall(lambda: closes.append("call"), executor)()
        assert closes == ["chat-db_0", "call", "chat-db_0"]
    finally:
        executor.shutdown()


# --- health checks: a ping only when the connection may be dead ----------------------------------

def _backend_pid():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_a_kept_connection_is_pinged_only_when_it_may_be_dead_and_replaced_when_it_is(monkeypatch, settings):
    # Guards against: a SELECT 1 before every call on the sockets' threads (each read mark paid two
    # round trips and two transactions), and against losing the failover: a connection PostgreSQL
    # ended must still be replaced before a call uses it. Also fails if Django stops honouring
    # the private `health_check_done` that spares the ping (Django is pinned to its minor).
    from django.db import connection
    from django.db.backends.postgresql.base import DatabaseWrapper

    from chatplatform.db import PooledCall

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # kept between calls, as in production
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 10
    pings = []
    real = DatabaseWrapper.is_usable

    def counting(self):
        pings.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counting)
    executor = OldestFirstExecutor(max_workers=1)
    call = PooledCall(_backend_pid, executor)
    try:
        first = await call()
        assert await call() == first and await call() == first
        assert pings == []  # the same live connection, no ping

        def terminate():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [first])

        await asyncio.to_thread(terminate)
        await asyncio.sleep(0.2)  # the FATAL reaches the idle socket
        replaced = await call()  # pinged, found dead, replaced: the call works
        assert replaced != first and pings == ["chat-db_0"]
        assert await call() == replaced and len(pings) == 1

        settings.DB_HEALTH_CHECK_IDLE_SECONDS = 0  # idle longer than the limit: pinged whatever the socket says
        assert await call() == replaced and len(pings) == 2
    finally:
        executor.shutdown()
        await asyncio.to_thread(lambda: None)
