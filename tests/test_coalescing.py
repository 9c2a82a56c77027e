"""Queue updates to a brand's experts coalesced when they come faster than anyone reads (chatplatform/events.py)."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chatplatform import events


async def _received(layer, channel, wait=0.6) -> list[dict]:
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while (left := deadline - loop.time()) > 0:
        try:
            got.append(await asyncio.wait_for(layer.receive(channel), left))
        except asyncio.TimeoutError:
            break
    return got


def update(n, away=True):
    return {"type": "queue.updated", "conversation": {"id": "c1", "n": n, "away": away}}


async def test_a_burst_of_updates_becomes_the_first_and_the_last(settings):
    settings.CHAT_COALESCE_SECONDS = 0.2
    layer = get_channel_layer()
    dashboard = await layer.new_channel()
    await layer.group_add("queue.acme", dashboard)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(30):  # a visitor's presence flapping: 30 changes at once
        events._send_now(["queue.acme"], update(n, away=n % 2 == 0), coalesce="queue.c1")
    got = await _received(layer, dashboard)
    assert [event["conversation"]["n"] for event in got] == [0, 29]  # the first at once, then only the last state
    # Another conversation's updates are their own: not held behind c1's window.
    events._send_now(["queue.acme"], {"type": "queue.updated", "conversation": {"id": "c2"}}, coalesce="queue.c2")
    assert [event["conversation"]["id"] for event in await _received(layer, dashboard, 0.1)] == ["c2"]
    assert loop.time() - start < 2


async def test_an_update_held_back_gives_way_to_the_removal_which_is_not_delayed(settings):
    settings.CHAT_COALESCE_SECONDS = 0.5
    layer = get_channel_layer()
    dashboard = await layer.new_channel()
    await layer.group_add("queue.acme", dashboard)
    events._send_now(["queue.acme"], update(1), coalesce="queue.c1")
    events._send_now(["queue.acme"], update(2), coalesce="queue.c1")  # held for the window's end
    events._send_now(["queue.acme"], {"type": "queue.removed", "conversation": "c1"}, supersedes="queue.c1")
    got = await _received(layer, dashboard, 0.2)
    assert [event["type"] for event in got] == ["queue.updated", "queue.removed"]  # the removal at once
    assert await _received(layer, dashboard, 0.6) == []  # and the stale update never after it


@pytest.mark.django_db(transaction=True)
async def test_a_visitor_coming_and_going_fast_reaches_the_dashboards_as_few_updates_with_the_last_state(
    settings, connect, alice
):
    settings.CHAT_COALESCE_SECONDS = 1.0
    from channels.db import database_sync_to_async

    from visitors import services

    expert = await connect.expert(alice)
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "Which size?", "client_id": "c-1"})
    offer = await expert.recv_type("queue.added")
    visitor_id = (await database_sync_to_async(lambda: __import__("visitors.models").models.Conversation.objects.get(
        pk=offer["conversation"]["id"]).visitor_id)())
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(5):  # away, here, away, ... ten changes as fast as the database takes them
        await database_sync_to_async(services.mark_visitor_away)(visitor_id=visitor_id)
        await database_sync_to_async(services.mark_visitor_here)(visitor_id=visitor_id)
    elapsed = loop.time() - start
    frames = [frame for frame in await expert.drain(timeout=1.5) if frame["type"] == "queue.updated"]
    # At most one a window (and the first at once), however loaded the machine: ten without coalescing.
    assert 1 <= len(frames) <= int(elapsed) + 2 and len(frames) < 10, (len(frames), elapsed)
    assert frames[-1]["conversation"]["visitor"]["away_since"] is None  # the last state: here
