"""The visitor socket, frame by frame, through the real ASGI application."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)


async def start(visitor, text="Which size for trail shoes?", **extra):
    cid = client_id()
    await visitor.send({"type": "conversation.start", "text": text, "client_id": cid, **extra})
    conversation = await visitor.recv_type("conversation")
    first = await visitor.recv_type("message")
    return conversation, first


async def test_hello_issues_a_token_that_is_stored_only_hashed(connect, brand):
    from visitors.models import Visitor

    visitor = await connect.visitor(nickname="Sam")
    welcome = visitor.welcome
    assert welcome["visitor"]["nickname"] == "Sam"
    assert welcome["brand"]["slug"] == "acme" and welcome["brand"]["experts_online"] == 0
    assert welcome["conversation"] is None and welcome["messages"] == []
    token = welcome["token"]
    stored = await database_sync_to_async(lambda: list(Visitor.objects.values_list("token_hash", flat=True)))()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


async def test_start_sends_conversation_then_first_message(connect, brand, topic):
    visitor = await connect.visitor()
    conversation, first = await start(visitor, topic="sizing")
    assert conversation["conversation"]["status"] == "waiting"
    assert conversation["conversation"]["topic"] == "sizing"
    assert conversation["status"] == "waiting"  # the fields are also at the top level
    assert first["message"]["seq"] == 1 and first["message"]["author"] == "visitor"
    assert first["message"]["text"] == "Which size for trail shoes?"


async def test_second_start_is_refused_while_one_is_open(connect, brand):
    visitor = await connect.visitor()
    await start(visitor)
    error = await visitor.error({"type": "conversation.start", "text": "again", "client_id": client_id()})
    assert error["code"] == "conversation_open"


async def test_unknown_topic_is_an_invalid_field(connect, brand):
    visitor = await connect.visitor()
    error = await visitor.error({"type": "conversation.start", "text": "hi", "topic": "nope", "client_id": "c1"})
    assert error["code"] == "invalid_field" and error["ref"] == "c1"


async def test_send_without_conversation_is_refused(connect, brand):
    visitor = await connect.visitor()
    error = await visitor.error({"type": "message.send", "text": "hello?", "client_id": "x1"})
    assert error["code"] == "no_conversation" and error["ref"] == "x1"


async def test_same_client_id_twice_stores_one_message(connect, brand):
    from visitors.models import Message

    visitor = await connect.visitor()
    await start(visitor)
    frame = {"type": "message.send", "text": "more details", "client_id": "dup-1"}
    first = await visitor.request(frame, "message")
    again = await visitor.request(frame, "message")
    assert first["message"]["seq"] == again["message"]["seq"] == 2
    assert await database_sync_to_async(Message.objects.filter(client_id="dup-1").count)() == 1


@pytest.mark.parametrize(
    "raw, code",
    [
        ("not json", "invalid_frame"),
        ("[1, 2]", "invalid_frame"),
        ('{"no": "type"}', "invalid_frame"),
        ('{"type": 5}', "invalid_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "message.send", "text": 5, "client_id": "a"}', "invalid_field"),
        ('{"type": "message.send", "text": "hi"}', "invalid_field"),
        ('{"type": "message.send", "text": "   ", "client_id": "a"}', "invalid_field"),
        ('{"type": "read", "seq": "3"}', "invalid_field"),
        ('{"type": "read", "seq": -1}', "invalid_field"),
        ('{"type": "typing", "active": 1}', "invalid_field"),
        ('{"type": "conversation.rate", "score": 9}', "invalid_field"),
        ('{"type": "sync", "after_seq": 99999999999999999999999}', "invalid_field"),
    ],
)
async def test_malformed_frames_get_an_error_and_the_socket_stays_open(connect, brand, raw, code):
    visitor = await connect.visitor()
    await visitor.send_text(raw)
    error = await visitor.recv()
    assert error["type"] == "error" and error["code"] == code, error
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"


async def test_text_over_2000_characters_is_too_long_and_not_stored(connect, brand):
    from visitors.models import Message

    visitor = await connect.visitor()
    await start(visitor)
    error = await visitor.error({"type": "message.send", "text": "x" * 2001, "client_id": "long"})
    assert error["code"] == "too_long" and error["ref"] == "long"
    assert not await database_sync_to_async(Message.objects.filter(client_id="long").exists)()
    ok = await visitor.request({"type": "message.send", "text": "x" * 2000, "client_id": "max"}, "message")
    assert len(ok["message"]["text"]) == 2000


async def test_frame_over_16_kib_is_refused_and_the_socket_stays_open(connect, brand):
    visitor = await connect.visitor()
    await visitor.send_text('{"type": "ping", "pad": "' + "a" * 17000 + '"}')
    error = await visitor.recv()
    assert error["code"] == "too_long"
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"


async def test_binary_frame_is_an_invalid_frame(connect, brand):
    visitor = await connect.visitor()
    await visitor.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await visitor.recv())["code"] == "invalid_frame"


async def test_frame_before_hello_closes_with_4400(connect, brand):
    visitor = await connect.visitor(hello=False)
    await visitor.send({"type": "ping"})
    error = await visitor.recv()
    assert error["code"] == "invalid_frame"
    assert await visitor.closed_with() == 4400


async def test_no_hello_within_the_deadline_closes_with_4408(connect, brand, settings):
    settings.CHAT_HELLO_TIMEOUT_SECONDS = 0.2
    visitor = await connect.visitor(hello=False)
    assert await visitor.closed_with(timeout=2) == 4408


async def test_a_hello_sent_in_time_is_answered_however_long_the_database_takes(connect, brand, settings, monkeypatch):
    # Guards against: the deadline for *sending* hello closing sockets (4408) whose hello was sent in
    # time but waited on the database, as every visitor of a reconnect storm did.
    from visitors import socket_actions

    settings.CHAT_HELLO_TIMEOUT_SECONDS = 0.2
    real = socket_actions._open_session

    def slow(*args):
        import time

        time.sleep(0.5)  # the database threads are busy with a storm
        return real(*args)

    monkeypatch.setattr(socket_actions, "_open_session", slow)
    visitor = await connect.visitor()
    assert visitor.welcome["type"] == "welcome"
    assert await visitor.request({"type": "ping"}, "pong")  # still open, past the deadline


async def test_a_hello_that_failed_arms_the_deadline_again(connect, brand, settings, monkeypatch):
    # Guards against: a socket that is never greeted (its hello failed) staying open for ever.
    from django.db import OperationalError

    from visitors import socket_actions

    settings.CHAT_HELLO_TIMEOUT_SECONDS = 0.3

    def failing(*args):
        raise OperationalError("the database went away")

    monkeypatch.setattr(socket_actions, "_open_session", failing)
    visitor = await connect.visitor(hello=False)
    await visitor.send({"type": "hello", "token": None, "last_seq": 0})
    assert (await visitor.recv_type("error"))["code"] == "unavailable"
    assert await visitor.closed_with(timeout=2) == 4408


async def test_unknown_or_inactive_brand_closes_with_4404(connect, brand, other_brand):
    socket, connected, _ = await connect.raw("/ws/v1/visitor/nope/", [(b"origin", b"https://shop.acme.test")])
    assert await socket.closed_with() == 4404
    other_brand.is_active = False
    await database_sync_to_async(other_brand.save)()
    socket, connected, _ = await connect.raw("/ws/v1/visitor/globex/", [(b"origin", b"https://globex.test")])
    assert await socket.closed_with() == 4404


@pytest.mark.parametrize(
    "origin",
    [b"https://evil.test", b"https://shop.acme.test.evil.test", b"https://other.shop.acme.test", b"null", b"http://shop.acme.test", b"::::"],
)
async def test_foreign_origin_is_refused_before_any_frame(connect, brand, origin):
    _, connected, _ = await connect.raw("/ws/v1/visitor/acme/", [(b"origin", origin)])
    assert not connected


async def test_own_host_and_listed_origins_are_accepted(connect, brand):
    for origin, host in ((b"https://shop.acme.test", b"testserver"), (b"http://testserver", b"testserver"),
                         (b"http://localhost:8000", b"localhost:8000")):
        visitor = await connect.visitor(origin=origin, host=host)
        assert visitor.welcome["type"] == "welcome"


async def test_resume_with_token_and_last_seq_replays_exactly_the_missed(connect, brand, alice):
    token, conversation_id, expert = await _claimed(connect, alice)
    for n in range(3):
        await expert.request(
            {"type": "message.send", "conversation": conversation_id, "text": f"answer {n}", "client_id": f"e{n}"}, "message"
        )
    again = await connect.visitor(token=token, last_seq=2)
    welcome = again.welcome
    assert welcome["conversation"]["id"] == conversation_id and welcome["conversation"]["status"] == "active"
    assert [m["seq"] for m in welcome["messages"]] == [3, 4]
    assert [m["text"] for m in welcome["messages"]] == ["answer 1", "answer 2"]
    assert await again.nothing()


async def _claimed(connect, alice):
    """A visitor's conversation claimed by alice; the visitor's socket closed. Returns (token, id, expert socket)."""
    visitor = await connect.visitor()
    await start(visitor)
    expert = await connect.expert(alice)
    conversation_id = expert.welcome["queue"][0]["id"]
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")  # the claim's event has reached the visitor: none is left in flight
    token = visitor.token
    await visitor.close()
    return token, conversation_id, expert


async def test_a_resume_missing_more_than_a_page_gets_the_rest_in_order_after_the_welcome(connect, brand, alice, settings):
    # Guards against: the welcome's page limit cutting a long absence short (the rest never sent).
    settings.CHAT_SYNC_PAGE_SIZE = 3
    token, conversation_id, expert = await _claimed(connect, alice)
    for n in range(7):
        await expert.request(
            {"type": "message.send", "conversation": conversation_id, "text": f"answer {n}", "client_id": f"e{n}"}, "message"
        )
    again = await connect.visitor(token=token, last_seq=1)
    assert [m["seq"] for m in again.welcome["messages"]] == [2, 3, 4]
    rest = [frame["message"]["seq"] for frame in await again.drain(timeout=0.5) if frame["type"] == "message"]
    assert rest == [5, 6, 7, 8]


async def test_a_message_stored_while_the_welcome_is_read_arrives_once(connect, brand, alice, monkeypatch):
    # Guards against: a message committed between reading the welcome and following the
    # conversation reaching neither the welcome nor the live feed (lost until the next one).
    from experts.models import ExpertProfile
    from visitors import socket_actions
    from visitors import services as visitor_services

    token, conversation_id, expert = await _claimed(connect, alice)
    real = socket_actions._open_session

    def answered_meanwhile(*args):
        result = real(*args)
        visitor_services.send_expert_message(
            expert=ExpertProfile.objects.get(pk=alice.pk), conversation_id=conversation_id, text="meanwhile", client_id="late"
        )
        return result

    monkeypatch.setattr(socket_actions, "_open_session", answered_meanwhile)
    again = await connect.visitor(token=token, last_seq=1)
    assert again.welcome["messages"] == []
    live = [frame["message"] for frame in await again.drain(timeout=0.5) if frame["type"] == "message"]
    assert [(m["seq"], m["text"]) for m in live] == [(2, "meanwhile")]


async def test_a_resuming_hello_takes_two_trips_to_the_database(connect, brand, alice, monkeypatch):
    # Guards against: the handshake's cost in a reconnect storm creeping back up (it took four
    # trips, each queued behind every other socket's; docs/performance.md).
    from visitors import session

    token, conversation_id, expert = await _claimed(connect, alice)
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": "hi", "client_id": "e0"}, "message")
    trips = []
    real = session.database_sync_to_async

    def counted(func):
        trips.append(func.__name__)
        return real(func)

    monkeypatch.setattr(session, "database_sync_to_async", counted)
    again = await connect.visitor(token=token, last_seq=1)
    assert [m["text"] for m in again.welcome["messages"]] == ["hi"]
    assert trips == ["_lookup", "_open_session"]


def test_a_resuming_hello_reads_and_writes_little(brand, django_assert_max_num_queries):
    from moderation.blocks import BlockPolicy
    from visitors import selectors, socket_actions
    from visitors import services as visitor_services

    visitor, token = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="hello", client_id="c1")
    brand = selectors.active_brand_for_socket(brand.slug)  # as the socket has it: topics read with it, once per process
    with django_assert_max_num_queries(7):
        known, refusal, conversation_id = socket_actions._lookup(brand, token, BlockPolicy(brand, None, ("addr",)))
        _, _, state = socket_actions._open_session(brand, known, token, None, "addr", 0)
    assert refusal is None and state["conversation"]["id"] == conversation_id == str(conversation.id)
    assert [m["text"] for m in state["messages"]] == ["hello"]


async def test_a_visitor_with_two_tabs_sees_both_sides_in_both(connect, brand, alice):
    tab1 = await connect.visitor()
    tab2 = await connect.visitor(token=tab1.token)
    conversation, _ = await start(tab1)
    conversation_id = conversation["conversation"]["id"]
    assert (await tab2.recv_type("conversation"))["conversation"]["id"] == conversation_id
    assert (await tab2.recv_type("message"))["message"]["seq"] == 1
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await expert.send({"type": "message.send", "conversation": conversation_id, "text": "Hi!", "client_id": "e1"})
    await tab1.send({"type": "message.send", "text": "Hello", "client_id": "v2"})
    for tab in (tab1, tab2):
        messages = []
        while len(messages) < 2:
            frame = await tab.recv()
            if frame["type"] == "message":
                messages.append(frame["message"])
        assert sorted(m["text"] for m in messages) == ["Hello", "Hi!"]
        assert sorted(m["seq"] for m in messages) == [2, 3]


async def test_typing_and_read_reach_the_expert(connect, brand, alice):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor)
    conversation_id = conversation["conversation"]["id"]
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")
    await visitor.send({"type": "typing", "active": True})
    typing = await expert.recv_type("typing")
    assert typing == {"type": "typing", "conversation": conversation_id, "author": "visitor", "active": True}
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": "Hi", "client_id": "e1"}, "message")
    await visitor.recv_type("message")
    await visitor.send({"type": "read", "seq": 2})
    read = await expert.recv_type("read")
    assert read == {"type": "read", "conversation": conversation_id, "reader": "visitor", "seq": 2}


async def test_end_then_rate(connect, brand, alice):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor)
    conversation_id = conversation["conversation"]["id"]
    expert = await connect.expert(alice)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")
    ended = await visitor.request({"type": "conversation.end"}, "conversation")
    assert ended["conversation"]["status"] == "ended" and ended["conversation"]["ended_by"] == "visitor"
    seen_by_expert = await expert.recv_type("conversation")
    assert seen_by_expert["conversation"]["status"] == "ended"
    rated = await visitor.request({"type": "conversation.rate", "score": 5, "comment": "Great help"}, "conversation")
    assert rated["conversation"]["rating"] == {"score": 5, "comment": "Great help"}
    error = await visitor.error({"type": "message.send", "text": "still there?", "client_id": "late"})
    assert error["code"] == "no_conversation"


async def test_rate_without_an_ended_conversation(connect, brand):
    visitor = await connect.visitor()
    assert (await visitor.error({"type": "conversation.rate", "score": 3}))["code"] == "no_conversation"


async def test_next_expert_excludes_the_expert_and_returns_to_waiting(connect, brand, alice, bob):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor)
    conversation_id = conversation["conversation"]["id"]
    expert_a = await connect.expert(alice)
    expert_b = await connect.expert(bob)
    await expert_a.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.recv_type("conversation")
    moved = await visitor.request({"type": "conversation.next_expert"}, "conversation")
    assert moved["conversation"]["status"] == "waiting" and moved["conversation"]["expert"] is None
    released = await expert_a.recv_type("conversation")
    assert released["conversation"]["status"] == "waiting"
    offered = await expert_b.recv_type("queue.added")
    assert offered["conversation"]["id"] == conversation_id and offered["preview"] == "Which size for trail shoes?"
    error = await expert_a.error({"type": "conversation.claim", "conversation": conversation_id})
    assert error["code"] == "forbidden"
    await expert_a.send({"type": "message.send", "conversation": conversation_id, "text": "wait", "client_id": "z"})
    assert (await expert_a.recv_type("error"))["code"] == "forbidden"
    assert (await expert_b.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation"))[
        "conversation"
    ]["expert"]["display_name"] == "Bob"


async def test_next_expert_after_the_end_asks_again_without_that_expert(connect, brand, alice, bob):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor, text="Are these waterproof?")
    conversation_id = conversation["conversation"]["id"]
    expert_a = await connect.expert(alice)
    await expert_a.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await expert_a.request({"type": "conversation.end", "conversation": conversation_id}, "conversation")
    await visitor.drain()
    again = await visitor.request({"type": "conversation.next_expert"}, "conversation")
    assert again["conversation"]["status"] == "waiting" and again["conversation"]["id"] != conversation_id
    assert (await visitor.recv_type("message"))["message"]["text"] == "Are these waterproof?"
    expert_b = await connect.expert(bob)
    assert [c["id"] for c in expert_b.welcome["queue"]] == [again["conversation"]["id"]]
    alice_again = await connect.expert(alice)
    assert alice_again.welcome["queue"] == []


async def test_ping_pong(connect, brand):
    visitor = await connect.visitor()
    assert await visitor.request({"type": "ping"}, "pong") == {"type": "pong"}


async def test_disconnect_leaves_no_group_membership(connect, brand):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    # The in-memory layer and the pub/sub one (in this process) both keep their groups in memory.
    groups = layer.groups if hasattr(layer, "groups") else layer._get_layer().groups

    visitor = await connect.visitor()
    await start(visitor)
    assert any(members for members in groups.values())  # looking at the right place: the socket is a member
    await visitor.close()
    await asyncio.sleep(0.05)
    assert all(not members for members in groups.values())


async def test_a_retried_start_is_answered_and_never_makes_a_second_conversation(connect, brand, alice):
    visitor = await connect.visitor()
    frame = {"type": "conversation.start", "text": "Lost ack?", "client_id": "start-1"}
    await visitor.send(frame)
    first = await visitor.recv_type("conversation")
    await visitor.recv_type("message")
    again = await visitor.request(frame, "conversation")
    assert again["conversation"]["id"] == first["conversation"]["id"]
    assert (await visitor.recv_type("message"))["message"]["client_id"] == "start-1"
    # The retry rings the doorbell again (a lost answer may have hidden a lost event): on Redis its
    # frames may come a moment later. A client skips them by state and seq; here they are read first.
    await visitor.drain()
    await visitor.request({"type": "conversation.end"}, "conversation")
    await visitor.drain()
    after_end = await visitor.request(frame, "conversation")
    assert after_end["conversation"]["id"] == first["conversation"]["id"] and after_end["conversation"]["status"] == "ended"


async def test_next_expert_while_waiting_answers_with_the_unchanged_conversation(connect, brand):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor)
    same = await visitor.request({"type": "conversation.next_expert"}, "conversation")
    assert same["conversation"]["id"] == conversation["conversation"]["id"] and same["conversation"]["status"] == "waiting"


async def test_the_nickname_may_come_with_the_question(connect, brand):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "Hi", "client_id": "n1", "nickname": "Robin"})
    conversation = await visitor.recv_type("conversation")
    assert conversation["conversation"]["visitor"]["nickname"] == "Robin"
    assert (await visitor.recv_type("message"))["message"]["author_name"] == "Robin"


async def test_welcome_carries_the_last_ended_conversation_to_rate_or_report(connect, brand, alice):
    visitor = await connect.visitor()
    conversation, _ = await start(visitor)
    await visitor.request({"type": "conversation.end"}, "conversation")
    again = await connect.visitor(token=visitor.token)
    assert again.welcome["conversation"] is None
    assert again.welcome["last_conversation"]["id"] == conversation["conversation"]["id"]
    assert again.welcome["last_conversation"]["status"] == "ended"


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "typing", "active": True},
        {"type": "read", "seq": 1},
        {"type": "sync", "after_seq": 0},
        {"type": "conversation.end"},
    ],
)
async def test_conversation_frames_without_a_conversation_are_no_conversation(connect, brand, frame):
    visitor = await connect.visitor()
    error = await visitor.error(frame)
    assert error["code"] == "no_conversation"
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"


@pytest.mark.parametrize("field", ["text", "client_id"])
async def test_a_nul_character_is_an_invalid_field_and_nothing_is_stored(connect, brand, field):
    # PostgreSQL refuses NUL in text: without the check the client got "unavailable, send it again" forever.
    from visitors.models import Message

    visitor = await connect.visitor()
    await start(visitor)
    frame = {"type": "message.send", "text": "fine", "client_id": client_id()}
    frame[field] = frame[field] + "\x00tail"
    error = await visitor.error(frame)
    assert error["code"] == "invalid_field" and field in error["detail"]
    assert await database_sync_to_async(Message.objects.count)() == 1
    await visitor.send({"type": "message.send", "text": "after", "client_id": "ok-1"})
    assert (await visitor.recv_type("message"))["message"]["seq"] == 2


async def test_a_nul_in_the_hello_nickname_is_refused_and_closes_with_4400(connect, brand):
    visitor = await connect.visitor(hello=False)
    await visitor.send({"type": "hello", "token": None, "nickname": "Sam\x00"})
    assert (await visitor.recv_type("error"))["code"] == "invalid_field"
    assert await visitor.closed_with() == 4400


def test_a_visitor_holding_every_message_resumes_without_reading_messages(brand, django_assert_num_queries):
    # Most of a reconnect storm: the visitor dropped and came back with nothing new. Its welcome
    # reads the conversation, not the messages (docs/performance.md).
    from visitors import selectors, socket_actions
    from visitors import services as visitor_services

    visitor, token = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
    visitor_services.start_conversation(visitor=visitor, text="hello", client_id="c1")
    visitor_services.send_visitor_message(visitor=visitor, text="anyone?", client_id="c2")
    brand = selectors.active_brand_for_socket(brand.slug)
    with django_assert_num_queries(1):
        up_to_date = socket_actions._welcome_state(visitor, brand, last_seq=2)
    with django_assert_num_queries(2):
        behind = socket_actions._welcome_state(visitor, brand, last_seq=1)
    assert up_to_date["conversation"]["last_seq"] == 2 and up_to_date["messages"] == []
    assert [m["text"] for m in behind["messages"]] == ["anyone?"]


async def test_an_up_to_date_resume_still_gets_what_is_sent_after_it(connect, brand, alice):
    token, conversation_id, expert = await _claimed(connect, alice)
    again = await connect.visitor(token=token, last_seq=1)
    assert again.welcome["messages"] == [] and again.welcome["conversation"]["last_seq"] == 1
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": "still here", "client_id": "e1"}, "message")
    assert (await again.recv_type("message"))["message"]["text"] == "still here"
