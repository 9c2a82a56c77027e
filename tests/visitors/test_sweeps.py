"""Nobody online is not a dead end: waiting questions outlive their visitor's visit, idle conversations end,
old questions close; all through the real sockets and `chat_worker --once`."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.support import arun_worker_once, client_id

pytestmark = pytest.mark.django_db(transaction=True)


def _backdate(conversation_id, *, minutes=0, days=0, away_minutes=None):
    from visitors.models import Conversation, Message, Visitor

    then = timezone.now() - timedelta(minutes=minutes, days=days)
    conversation = Conversation.objects.get(pk=conversation_id)
    Message.objects.filter(conversation=conversation).update(created_at=then)
    Conversation.objects.filter(pk=conversation_id).update(created_at=then, claimed_at=then if conversation.claimed_at else None)
    if away_minutes is not None:
        Visitor.objects.filter(pk=conversation.visitor_id).update(away_since=timezone.now() - timedelta(minutes=away_minutes))


async def _ask(connect, text="Which size for a 30 km hike?"):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": text, "client_id": client_id()})
    conversation = (await visitor.recv_type("conversation"))["conversation"]
    return visitor, conversation["id"]


async def test_an_abandoned_conversation_ends_as_inactive_and_frees_the_experts_place(connect, make_expert, brand):
    alice = await database_sync_to_async(make_expert)("alice", brands=[brand], capacity=1)
    visitor, first = await _ask(connect)
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": first}, "conversation")
    await visitor.close()  # the visitor leaves without a word
    _, second = await _ask(connect, "Is the blue one waterproof?")
    assert (await expert.error({"type": "conversation.claim", "conversation": second}))["code"] == "capacity"

    await database_sync_to_async(_backdate)(first, minutes=31, away_minutes=5)
    await arun_worker_once()
    notice = (await expert.recv_type("message"))["message"]
    assert notice["author"] == "system" and notice["text"] == "This conversation ended after 30 minutes without messages."
    ended = (await expert.recv_type("conversation"))["conversation"]
    assert (ended["id"], ended["status"], ended["ended_by"], ended["end_reason"]) == (first, "ended", "system", "inactive")
    claimed = await expert.request({"type": "conversation.claim", "conversation": second}, "conversation")
    assert claimed["conversation"]["status"] == "active"  # the place is free again


async def test_the_returning_visitor_sees_why_it_ended(connect, alice, brand):
    visitor, conversation_id = await _ask(connect)
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    token = visitor.token
    await visitor.close()
    await database_sync_to_async(_backdate)(conversation_id, minutes=45, away_minutes=10)
    await arun_worker_once()
    back = await connect.visitor(token=token)
    last = back.welcome["last_conversation"]
    assert back.welcome["conversation"] is None
    assert (last["id"], last["end_reason"]) == (conversation_id, "inactive")


async def test_no_end_while_the_visitor_is_here_or_someone_wrote_lately(connect, alice, brand):
    from visitors.models import Conversation

    visitor, here = await _ask(connect)
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": here}, "conversation")
    await database_sync_to_async(_backdate)(here, minutes=90)  # silent for long, but the widget is open
    await arun_worker_once()
    assert await database_sync_to_async(lambda: Conversation.objects.get(pk=here).status)() == "active"

    await visitor.close()
    await database_sync_to_async(_backdate)(here, minutes=90, away_minutes=5)
    await expert.request({"type": "message.send", "conversation": here, "text": "Still there?", "client_id": "e1"}, "message")
    await arun_worker_once()  # the expert wrote a minute ago
    assert await database_sync_to_async(lambda: Conversation.objects.get(pk=here).status)() == "active"


async def test_a_waiting_question_stays_claimable_after_its_visitor_left_and_the_queue_shows_it(connect, alice, brand):
    visitor, conversation_id = await _ask(connect)
    expert = await connect.expert(alice)
    assert expert.welcome["queue"][0]["visitor"]["away_since"] is None  # here
    await visitor.close()
    updated = (await expert.recv_type("queue.updated"))["conversation"]
    assert updated["id"] == conversation_id and updated["visitor"]["away_since"] is not None
    await database_sync_to_async(_backdate)(conversation_id, days=6, away_minutes=600)  # asked this morning... six days ago
    await arun_worker_once()
    evening = await connect.expert(alice)
    assert [c["id"] for c in evening.welcome["queue"]] == [conversation_id]
    assert evening.welcome["queue"][0]["visitor"]["away_since"] is not None
    claimed = await evening.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    assert claimed["conversation"]["status"] == "active"


async def test_the_queue_shows_the_visitor_back(connect, alice, brand, settings):
    visitor, conversation_id = await _ask(connect)
    second_tab = await connect.visitor(token=visitor.token)
    expert = await connect.expert(alice)
    await visitor.close()  # one tab closed: the other still holds the visitor here
    # Away then here within a second: the "here" comes at the end of the coalescing window (protocol.md).
    frames = [f for f in await expert.drain(timeout=settings.CHAT_COALESCE_SECONDS + 0.5) if f["type"] == "queue.updated"]
    assert frames and frames[-1]["conversation"]["visitor"]["away_since"] is None
    await second_tab.close()
    away = (await expert.recv_type("queue.updated"))["conversation"]
    assert away["visitor"]["away_since"] is not None
    again = await connect.visitor(token=visitor.token)
    assert again.welcome["conversation"]["id"] == conversation_id
    assert (await expert.recv_type("queue.updated"))["conversation"]["visitor"]["away_since"] is None


async def test_an_unanswered_question_closes_after_the_brands_waiting_days(connect, alice, brand):
    from visitors.models import Conversation

    await database_sync_to_async(lambda: type(brand).objects.filter(pk=brand.pk).update(waiting_days=3))()
    old_visitor, old = await _ask(connect)
    token = old_visitor.token
    await old_visitor.close()
    _, recent = await _ask(connect, "Do you ship to Norway?")
    await database_sync_to_async(_backdate)(old, days=3, minutes=1, away_minutes=3 * 24 * 60)
    await database_sync_to_async(_backdate)(recent, days=2)
    expert = await connect.expert(alice)
    assert {c["id"] for c in expert.welcome["queue"]} == {old, recent}
    await arun_worker_once()
    assert (await expert.recv_type("queue.removed"))["conversation"] == old
    closed = await database_sync_to_async(Conversation.objects.get)(pk=old)
    assert (closed.status, closed.ended_by, closed.end_reason) == ("ended", "system", "unanswered")
    assert await database_sync_to_async(lambda: Conversation.objects.get(pk=recent).status)() == "waiting"
    back = await connect.visitor(token=token)
    assert back.welcome["last_conversation"]["end_reason"] == "unanswered"
    assert back.welcome["messages"] == [] and back.welcome["conversation"] is None


async def test_the_retention_purge_runs_as_scheduled_work(connect, alice, brand, settings):
    from moderation.privacy import PURGED
    from visitors.models import Conversation, Message

    settings.RETENTION_DAYS = 30
    visitor, conversation_id = await _ask(connect, "My address is 1 Main Street")
    await visitor.request({"type": "conversation.end"}, "conversation")
    await database_sync_to_async(
        lambda: Conversation.objects.filter(pk=conversation_id).update(ended_at=timezone.now() - timedelta(days=31))
    )()
    await arun_worker_once()
    texts = await database_sync_to_async(lambda: list(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True)))()
    assert texts and set(texts) == {PURGED}
