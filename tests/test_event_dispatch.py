"""Events after commit: handed to the event loop from the database thread, in order per group."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from chatplatform import events


class SlowLayer:
    """A channel layer whose sends wait until released, recording what reached it."""

    def __init__(self):
        self.sent = []
        self.release = asyncio.Event()

    async def group_send(self, group, event):
        await self.release.wait()
        self.sent.append((group, event["n"]))


@pytest.fixture
def slow_layer(monkeypatch):
    layer = SlowLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    return layer


@pytest.mark.django_db(transaction=True)
async def test_the_database_thread_does_not_wait_for_the_layer(slow_layer):
    def commit_events():
        for n in range(3):
            with transaction.atomic():
                events.send_event_on_commit(["conversation.a", "visitor.b"], {"type": "chat.test", "n": n})
        return "committed"

    # Returns although no send can finish yet: the thread did not block on the layer.
    assert await asyncio.wait_for(database_sync_to_async(commit_events)(), timeout=10) == "committed"
    assert slow_layer.sent == []
    slow_layer.release.set()
    for _ in range(100):
        if len(slow_layer.sent) == 6:
            break
        await asyncio.sleep(0.01)
    # Each group hears the events in commit order.
    assert [n for group, n in slow_layer.sent if group == "conversation.a"] == [0, 1, 2]
    assert [n for group, n in slow_layer.sent if group == "visitor.b"] == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
def test_outside_the_server_the_send_completes_before_returning(monkeypatch):
    sent = []

    class Layer:
        async def group_send(self, group, event):
            sent.append(group)

    monkeypatch.setattr(events, "get_channel_layer", lambda: Layer())
    with transaction.atomic():
        events.send_event_on_commit("moderators", {"type": "chat.test"})
        assert sent == []  # never before the commit
    assert sent == ["moderators"]


class FlakyLayer:
    """A layer whose broker is unreachable for its first ``failures`` sends."""

    def __init__(self, failures):
        self.failures, self.sent = failures, []

    async def group_send(self, group, event):
        if self.failures:
            self.failures -= 1
            raise ConnectionResetError(104, "Connection reset by peer")
        self.sent.append(event["n"])


@pytest.mark.django_db(transaction=True)
async def test_a_broker_blip_is_retried_and_order_kept(monkeypatch, caplog):
    # Guards against: the last message of a conversation never arriving live because Redis restarted under it.
    layer = FlakyLayer(failures=2)
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(events, "RETRY_PAUSE_SECONDS", 0.01)

    def commit_events():
        for n in range(3):
            with transaction.atomic():
                events.send_event_on_commit("conversation.a", {"type": "chat.test", "n": n})

    await database_sync_to_async(commit_events)()
    for _ in range(200):
        if len(layer.sent) == 3:
            break
        await asyncio.sleep(0.01)
    assert layer.sent == [0, 1, 2]
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_is_one_warning_line_not_a_traceback(monkeypatch, caplog):
    layer = FlakyLayer(failures=99)
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(events, "RETRY_PAUSE_SECONDS", 0.01)
    with transaction.atomic():
        events.send_event_on_commit("moderators", {"type": "chat.test", "n": 1})
    assert layer.sent == []
    warnings = [r for r in caplog.records if r.name == "chatplatform.events"]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING" and warnings[0].exc_info is None
    assert "ConnectionResetError" in warnings[0].getMessage()
