"""Visitor presence after a server crash: no socket refreshed for three heartbeats means away (issue 17)."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.support import arun_worker_once, client_id

pytestmark = pytest.mark.django_db(transaction=True)


async def _ask(connect):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "Is this tent for two?", "client_id": client_id()})
    return visitor, (await visitor.recv_type("conversation"))["conversation"]["id"]


def _crashed_long_ago(conversation_id, minutes):
    """The visitor's server process died ``minutes`` ago with their socket open: nothing marked them away."""
    from visitors.models import Conversation, Message, Visitor

    then = timezone.now() - timedelta(minutes=minutes)
    conversation = Conversation.objects.get(pk=conversation_id)
    Message.objects.filter(conversation=conversation).update(created_at=then)
    Conversation.objects.filter(pk=conversation_id, claimed_at__isnull=False).update(claimed_at=then)
    Visitor.objects.filter(pk=conversation.visitor_id).update(away_since=None, last_seen=then)
    return conversation.visitor_id


async def test_a_visitor_whose_server_died_counts_as_away_and_their_conversation_ends(connect, alice, brand):
    from visitors.models import Visitor

    visitor, conversation_id = await _ask(connect)
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.close()
    visitor_id = await database_sync_to_async(_crashed_long_ago)(conversation_id, minutes=40)
    await arun_worker_once()
    away_since = await database_sync_to_async(lambda: Visitor.objects.get(pk=visitor_id).away_since)()
    assert away_since is not None and away_since < timezone.now() - timedelta(minutes=39)  # as of when last seen
    ended = (await expert.recv_type("conversation"))["conversation"]
    assert (ended["status"], ended["end_reason"]) == ("ended", "inactive")


async def test_the_queue_shows_a_vanished_visitor_away(connect, alice, brand):
    visitor, conversation_id = await _ask(connect)
    await visitor.close()
    await database_sync_to_async(_crashed_long_ago)(conversation_id, minutes=5)
    expert = await connect.expert(alice)
    assert expert.welcome["queue"][0]["visitor"]["away_since"] is None  # still "here", wrongly
    await arun_worker_once()
    updated = await expert.recv_type("queue.updated")
    assert updated["conversation"]["id"] == conversation_id and updated["conversation"]["visitor"]["away_since"]


async def test_an_open_socket_keeps_its_visitor_here(connect, brand, settings):
    from visitors.models import Visitor

    settings.CHAT_VISITOR_HEARTBEAT_SECONDS = 0.2
    visitor = await connect.visitor()
    visitor_id = visitor.welcome["visitor"]["id"]
    old = timezone.now() - timedelta(minutes=10)
    # Seen long ago, and even marked away (the sweep, while this process could not reach the database).
    await database_sync_to_async(Visitor.objects.filter(pk=visitor_id).update)(last_seen=old, away_since=old)
    await asyncio.sleep(0.6)
    await arun_worker_once()
    row = await database_sync_to_async(Visitor.objects.values("last_seen", "away_since").get)(pk=visitor_id)
    assert row["away_since"] is None and row["last_seen"] > timezone.now() - timedelta(seconds=5)
    await visitor.close()
    assert await database_sync_to_async(lambda: Visitor.objects.get(pk=visitor_id).away_since)() is not None


async def test_one_refresh_per_process_for_all_its_visitors(connect, brand, settings, monkeypatch):
    from visitors import services

    settings.CHAT_VISITOR_HEARTBEAT_SECONDS = 0.2
    calls = []
    real = services.refresh_visitors_seen
    monkeypatch.setattr(services, "refresh_visitors_seen", lambda **kw: calls.append(sorted(kw["visitor_ids"])) or real(**kw))
    visitors = [await connect.visitor() for _ in range(4)]
    calls.clear()  # counted from the moment every socket is in (a loaded machine's handshakes take a while)
    await asyncio.sleep(0.5)
    everyone = sorted(__import__("uuid").UUID(v.welcome["visitor"]["id"]) for v in visitors)
    assert calls and all(call == everyone for call in calls) and len(calls) <= 3  # one refresh per beat, for all four
