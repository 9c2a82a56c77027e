"""Faults inside one process: the database failing for a moment, a socket that stops reading."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)


async def active_conversation(connect, alice):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "hello", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.drain()
    await expert.drain()
    return visitor, expert, conversation_id


def fail_the_loops_connections(monkeypatch, failures):
    """The message hot path on the event loop (PostgreSQL): its COMMIT fails ``failures["loop"]`` times
    (the transaction rolls back), then every connection is refused once ``failures["down"]`` is set."""
    import psycopg

    from chatplatform import asyncdb

    real_exit = psycopg.AsyncTransaction.__aexit__

    async def failing_exit(self, exc_type, exc, tb):
        if exc_type is None and failures["loop"]:
            failures["loop"] -= 1
            await real_exit(self, psycopg.OperationalError, psycopg.OperationalError("lost"), None)  # rolls back
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return await real_exit(self, exc_type, exc, tb)

    real_pool = asyncdb.pool

    async def pool():
        if failures["down"]:
            raise psycopg.OperationalError("connection refused")
        return await real_pool()

    monkeypatch.setattr(psycopg.AsyncTransaction, "__aexit__", failing_exit)
    monkeypatch.setattr(asyncdb, "pool", pool)


@pytest.mark.parametrize("path", ["thread", pytest.param("loop", marks=pytest.mark.postgres)])
async def test_a_send_while_the_database_fails_is_refused_then_a_retry_stores_it_exactly_once(connect, brand, alice, monkeypatch, settings, path):
    # Guards against: ghost messages (broadcast but never stored) and duplicates on retry after a database outage,
    # on the database thread and (PostgreSQL) on the event loop's own connections, which fall back to the thread.
    from visitors.models import Message

    settings.CHAT_ASYNC_DB = path == "loop"
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    real_commit = BaseDatabaseWrapper.commit
    failures = {"commit": 1, "loop": 1, "down": False}

    def failing_commit(self):
        if failures["commit"]:
            failures["commit"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real_commit(self)

    # 1. The commit fails after the row was written: rolled back, nothing announced.
    monkeypatch.setattr(BaseDatabaseWrapper, "commit", failing_commit)
    if path == "loop":
        fail_the_loops_connections(monkeypatch, failures)
    error = await visitor.error({"type": "message.send", "text": "lost at commit", "client_id": "m1"})
    assert error["code"] == "unavailable" and error["ref"] == "m1"
    assert failures == {"commit": 0, "loop": 1 if path == "thread" else 0, "down": False}  # both paths were tried
    # 2. The database cannot be reached at all.
    failures["down"] = True
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection",
                        lambda self: (_ for _ in ()).throw(OperationalError("connection refused")))
    error = await visitor.error({"type": "message.send", "text": "lost at commit", "client_id": "m1"})
    assert error["code"] == "unavailable"
    assert await expert.nothing(timeout=0.3)  # nothing was broadcast that is not stored
    monkeypatch.undo()

    # Back up: the retry with the same client_id is stored once; a second retry returns the same row.
    first = await visitor.request({"type": "message.send", "text": "lost at commit", "client_id": "m1"}, "message")
    second = await visitor.request({"type": "message.send", "text": "lost at commit", "client_id": "m1"}, "message")
    assert first["message"]["seq"] == second["message"]["seq"] == 2
    relayed = await expert.recv_type("message")
    assert relayed["message"]["client_id"] == "m1" and relayed["message"]["seq"] == 2
    assert await expert.nothing(timeout=0.3)
    stored = await database_sync_to_async(lambda: list(Message.objects.filter(conversation_id=conversation_id).values_list("seq", "client_id")))()
    assert [seq for seq, _ in stored] == [1, 2] and stored[1][1] == "m1"


@pytest.mark.parametrize("path", ["thread", pytest.param("loop", marks=pytest.mark.postgres)])
async def test_a_message_whose_commit_answer_was_lost_reaches_the_expert_when_the_visitor_retries(
    connect, brand, alice, monkeypatch, settings, path
):
    # Guards against: a message stored, but never announced, because the COMMIT's answer was lost
    # (the client is told to send it again, and the retry only returned the stored row).
    import psycopg

    settings.CHAT_ASYNC_DB = path == "loop"
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    lost = {"answers": 1}
    if path == "thread":
        real_commit = BaseDatabaseWrapper.commit

        def commit_then_fail(self):
            real_commit(self)
            if lost["answers"]:
                lost["answers"] -= 1
                raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(BaseDatabaseWrapper, "commit", commit_then_fail)
    else:
        real_exit = psycopg.AsyncTransaction.__aexit__

        async def commit_then_fail(self, exc_type, exc, tb):
            result = await real_exit(self, exc_type, exc, tb)
            if exc_type is None and lost["answers"]:
                lost["answers"] -= 1
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return result

        monkeypatch.setattr(psycopg.AsyncTransaction, "__aexit__", commit_then_fail)
    await visitor.send({"type": "message.send", "text": "did it go?", "client_id": "m7"})
    answer = await visitor.recv()
    assert lost["answers"] == 0
    if answer["type"] == "error":  # the thread's COMMIT "failed": the client sends it again
        assert answer["code"] == "unavailable"
        answer = await visitor.request({"type": "message.send", "text": "did it go?", "client_id": "m7"}, "message")
    # (On the loop, the failed COMMIT fell back to the thread, which found the row: a retry already.)
    assert answer["message"]["seq"] == 2 and answer["message"]["client_id"] == "m7"
    relayed = await expert.recv_type("message")
    assert relayed["message"]["client_id"] == "m7" and relayed["message"]["seq"] == 2
    assert await expert.nothing(timeout=0.3)  # once


async def test_a_stalled_expert_socket_still_gets_all_500_messages_in_order(connect, brand, alice, settings, monkeypatch):
    # Guards against: silent message loss when the channel layer drops events for a slow consumer (full channel).
    from experts.consumers import ExpertConsumer

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "10000/minute", "address": "10000/minute"}}
    layer = get_channel_layer()
    monkeypatch.setattr(layer, "capacity", 20)  # a small buffer per socket, so the stall overflows it
    if hasattr(layer, "_get_layer"):  # the pub/sub layer sizes each socket's inbox when the socket opens
        monkeypatch.setattr(layer._get_layer(), "capacity", 20)
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    gate = asyncio.Event()
    real_send_frame = ExpertConsumer.send_frame

    async def stalled_send_frame(self, frame):
        await gate.wait()  # the expert's connection is not being read: its writes block
        await real_send_frame(self, frame)

    monkeypatch.setattr(ExpertConsumer, "send_frame", stalled_send_frame)
    # A first message wedges the expert's consumer in a blocked write.
    for n in range(500):
        await visitor.send({"type": "message.send", "text": f"m{n}", "client_id": f"c{n}"})
    acks = 0
    while acks < 500:
        frame = await visitor.recv(timeout=10)
        acks += frame["type"] == "message"
    gate.set()

    texts = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(texts) < 500 and loop.time() < deadline:
        try:
            frame = await expert.recv(timeout=5)
        except TimeoutError:
            break
        if frame["type"] == "message":
            texts.append((frame["message"]["seq"], frame["message"]["text"]))
    assert texts == [(n + 2, f"m{n}") for n in range(500)]
    assert await expert.nothing(timeout=0.3)
    if hasattr(layer, "_get_layer"):  # it did drop: what it dropped came back from the database (layer.resync)
        assert layer._get_layer().dropped > 0
