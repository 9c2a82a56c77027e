"""Where the visitor asked from: the page's path and title reach the experts, and only them (issue 17)."""

import pytest
from channels.db import database_sync_to_async

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = {"path": "/orders/1234", "title": "Order 1234 – Acme Outdoor"}


async def ask(visitor, **extra):
    await visitor.send({"type": "conversation.start", "text": "Where is my parcel?", "client_id": client_id(), **extra})
    return (await visitor.recv_type("conversation"))["conversation"]


async def test_the_page_of_the_question_reaches_the_queue_and_the_conversation(connect, brand, alice):
    expert = await connect.expert(alice)
    visitor = await connect.visitor()
    conversation = await ask(visitor, page=PAGE)
    offered = await expert.recv_type("queue.added")
    assert offered["conversation"]["page"] == PAGE
    claimed = await expert.request({"type": "conversation.claim", "conversation": conversation["id"]}, "conversation")
    assert claimed["conversation"]["page"] == PAGE
    again = await connect.expert(alice)  # a reloaded dashboard shows it in the conversation's header
    assert [c["page"] for c in again.welcome["conversations"]] == [PAGE]


async def test_the_page_said_at_hello_is_the_question_page_unless_the_start_says_another(connect, brand, alice):
    from visitors.models import Conversation

    visitor = await connect.visitor(hello=False)
    await visitor.send({"type": "hello", "page": {"path": "/tents/", "title": "Tents"}})
    await visitor.recv_type("welcome")
    conversation = await ask(visitor)
    stored = await database_sync_to_async(Conversation.objects.values("page_path", "page_title").get)(pk=conversation["id"])
    assert stored == {"page_path": "/tents/", "page_title": "Tents"}
    expert = await connect.expert(alice)
    assert expert.welcome["queue"][0]["page"] == {"path": "/tents/", "title": "Tents"}


async def test_no_page_said_shows_none(connect, brand, alice):
    visitor = await connect.visitor()
    await ask(visitor)
    expert = await connect.expert(alice)
    assert expert.welcome["queue"][0]["page"] is None


@pytest.mark.parametrize(
    "page, field",
    [
        ({"path": "/x?order=12", "title": ""}, "page.path"),      # a query string may name the visitor
        ({"path": "/x#top", "title": ""}, "page.path"),
        ({"path": "orders", "title": ""}, "page.path"),            # not a path
        ({"path": "https://evil.test/", "title": ""}, "page.path"),
        ({"path": "/" + "a" * 200, "title": ""}, "page.path"),      # over the cap
        ({"path": "/x", "title": "t" * 201}, "page.title"),
        ({"path": "/x", "title": "two\nlines"}, "page.title"),     # control characters
        ({"path": "/x\u0000", "title": ""}, "page.path"),
        ({"path": "/x", "title": "nul\u0000"}, "page.title"),
        ({"path": "/x", "title": 5}, "page.title"),
        ({"path": "/x", "title": "", "url": "https://shop.acme.test/x?q"}, "page.url"),
        ("/x", "page"),
    ],
)
async def test_a_bad_page_is_refused_and_starts_nothing(connect, brand, page, field):
    from visitors.models import Conversation

    visitor = await connect.visitor()
    ref = client_id()
    error = await visitor.error({"type": "conversation.start", "text": "hi", "client_id": ref, "page": page})
    assert error["code"] == "invalid_field" and error["ref"] == ref and f"`{field}`" in error["detail"]
    assert await database_sync_to_async(Conversation.objects.count)() == 0


async def test_a_bad_page_at_hello_is_refused(connect, brand):
    visitor = await connect.visitor(hello=False)
    await visitor.send({"type": "hello", "page": {"path": "/x?email=sam@example.test", "title": ""}})
    error = await visitor.recv_type("error")
    assert error["code"] == "invalid_field" and "`page.path`" in error["detail"]


async def test_a_page_at_the_cap_is_kept_whole(connect, brand, alice):
    page = {"path": "/" + "é" * 199, "title": "🏕" * 200}
    visitor = await connect.visitor()
    await ask(visitor, page=page)
    expert = await connect.expert(alice)
    assert expert.welcome["queue"][0]["page"] == page


async def test_another_visitor_never_sees_the_page(connect, brand, alice):
    first = await connect.visitor()
    second = await connect.visitor()
    conversation = await ask(first, page=PAGE)
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation["id"]}, "conversation")
    await expert.request({"type": "message.send", "conversation": conversation["id"], "text": "Let me look", "client_id": client_id()},
                         "message")
    await first.recv_type("message")
    await second.drain()
    assert second.log and "1234" not in str(second.log)


async def test_the_purge_and_erasure_forget_the_page(connect, brand):
    from datetime import timedelta

    from django.utils import timezone

    from moderation import privacy
    from visitors.models import Conversation, Visitor

    old = await connect.visitor()
    await ask(old, page=PAGE)
    await old.request({"type": "conversation.end"}, "conversation")
    erased = await connect.visitor()
    await ask(erased, page={"path": "/account/sam", "title": "Sam's account"})

    def purge_and_erase():
        Conversation.objects.filter(visitor__nickname="", page_path="/orders/1234").update(
            ended_at=timezone.now() - timedelta(days=40)
        )
        privacy.purge_personal_data(days=30)
        privacy.erase_visitor_data(visitor=Visitor.objects.get(conversations__page_path="/account/sam"))
        return list(Conversation.objects.values_list("page_path", "page_title"))

    assert await database_sync_to_async(purge_and_erase)() == [("", ""), ("", "")]
