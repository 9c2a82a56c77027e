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
    from visitors import consumers

    seen = []
    real = consumers._lookup

    def looking(*args):
        seen.append(SOCKET_OPENED.get())
        return real(*args)

    monkeypatch.setattr(consumers, "_lookup", looking)
    loop = asyncio.get_running_loop()
    before = loop.time()
    first = await connect.visitor()
    second = await connect.visitor(token=first.token)
    assert len(seen) == 2 and before <= seen[0] < seen[1] <= loop.time()
