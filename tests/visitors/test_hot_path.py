"""The message hot path: few statements, and the same answers as the long way round."""

import uuid

import pytest

from chatplatform import errors
from chatplatform.errors import ChatError
from tests import support

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor(brand):
    from visitors.models import Visitor

    return Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex, nickname="Sam")


@pytest.fixture
def conversation(visitor, alice):
    from experts.services import claim_conversation
    from visitors.services import start_conversation

    conversation = start_conversation(visitor=visitor, text="Which size?", client_id="start")
    return claim_conversation(expert=alice, conversation_id=conversation.id)


def statements_per_message(orm_path: int) -> int:
    # PostgreSQL: BEGIN, UPDATE ... RETURNING (lock + seq), INSERT ... ON CONFLICT, COMMIT
    # (the ORM path took 6 for a visitor, 7 for an expert). Elsewhere the ORM path.
    return 4 if support.using_postgres() else orm_path


# transaction=True: as in the server, no outer transaction (whose savepoints would count too).
@pytest.mark.django_db(transaction=True)
def test_a_visitor_message_takes_few_statements(visitor, conversation, django_assert_max_num_queries):
    from visitors.services import send_visitor_message

    with django_assert_max_num_queries(statements_per_message(orm_path=6)):
        message, created = send_visitor_message(visitor=visitor, text="hello", client_id="a")
    assert created and message.seq == 2 and message.author_name == "Sam"


@pytest.mark.django_db(transaction=True)
def test_an_expert_message_takes_few_statements(alice, conversation, django_assert_max_num_queries):
    from visitors.services import send_expert_message

    with django_assert_max_num_queries(statements_per_message(orm_path=7)):
        message, created = send_expert_message(expert=alice, conversation_id=str(conversation.id), text="hi", client_id="e")
    assert created and message.seq == 2 and message.expert_id == alice.pk and message.author_name == alice.display_name


def test_a_retry_returns_the_stored_message_and_leaves_no_gap(visitor, conversation, django_capture_on_commit_callbacks):
    from visitors.models import Conversation, Message
    from visitors.services import send_visitor_message

    with django_capture_on_commit_callbacks() as first:
        message, created = send_visitor_message(visitor=visitor, text="hello", client_id="a")
    with django_capture_on_commit_callbacks() as retry:
        again, created_again = send_visitor_message(visitor=visitor, text="hello (resent)", client_id="a")
    # One event for the message, and the retry rings it again: the first try's event may never have
    # left (its commit's answer lost); sockets skip a seq they have delivered.
    assert (len(first), len(retry)) == (1, 1)
    assert created and not created_again and again.pk == message.pk and again.text == "hello"
    following, _ = send_visitor_message(visitor=visitor, text="next", client_id="b")
    assert following.seq == 3  # the retry's seq was rolled back with it
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 3
    assert list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True)) == [1, 2, 3]


def test_the_expert_path_refuses_as_before(alice, bob, conversation, brand, other_brand):
    from visitors.services import end_conversation, send_expert_message

    with pytest.raises(ChatError) as not_assigned:
        send_expert_message(expert=bob, conversation_id=str(conversation.id), text="me too", client_id="x")
    assert not_assigned.value.code == errors.FORBIDDEN
    message, _ = send_expert_message(expert=alice, conversation_id=str(conversation.id), text="hi", client_id="e")
    alice.brands.set([other_brand])
    with pytest.raises(ChatError) as outside:
        send_expert_message(expert=alice, conversation_id=str(conversation.id), text="still?", client_id="f")
    assert outside.value.code == errors.NOT_FOUND
    alice.brands.set([brand])
    end_conversation(conversation_id=conversation.id, ended_by="expert")
    with pytest.raises(ChatError) as ended:
        send_expert_message(expert=alice, conversation_id=str(conversation.id), text="bye", client_id="g")
    assert ended.value.code == errors.ENDED
    again, created = send_expert_message(expert=alice, conversation_id=str(conversation.id), text="hi", client_id="e")
    assert (again.pk, created) == (message.pk, False)  # a retry still answers once ended


def test_no_open_conversation_is_refused(visitor):
    from visitors.services import send_visitor_message

    with pytest.raises(ChatError) as refused:
        send_visitor_message(visitor=visitor, text="hello", client_id="a")
    assert refused.value.code == errors.NO_CONVERSATION


# --- the block check, folded into the message's own UPDATE ---------------------------------

def _send_as_the_socket_does(visitor, text, client_id, address="192.0.2.77"):
    """The visitor socket's database call for `message.send` (block check included)."""
    from moderation.blocks import BlockPolicy
    from visitors.serializers import message_object
    from visitors.store import store_visitor_message
    from visitors.tokens import address_hashes

    blocks = BlockPolicy(visitor.brand, visitor, address_hashes(address))
    message, created = store_visitor_message(visitor=visitor, text=text, client_id=client_id, blocks=blocks)
    return message_object(message), created


@pytest.mark.django_db(transaction=True)
def test_the_block_check_costs_no_statement_of_its_own(visitor, conversation, django_assert_max_num_queries):
    # Guards against: a separate block query per message (a fifth statement and a second
    # round trip on every visitor message).
    with django_assert_max_num_queries(statements_per_message(orm_path=7)):
        message, created = _send_as_the_socket_does(visitor, "hello", "a")
    assert created and message["seq"] == 2


def _block(brand, **fields):
    from datetime import timedelta

    from django.utils import timezone

    from moderation.models import Block

    fields.setdefault("expires_at", timezone.now() + timedelta(hours=1))
    return Block.objects.create(brand=brand, reason="Threats", **fields)


@pytest.mark.parametrize("covered_by", ["visitor", "address"])
def test_a_blocked_visitor_is_refused_and_nothing_is_stored(visitor, conversation, brand, covered_by):
    from visitors.models import Conversation, Message
    from visitors.tokens import address_hashes

    if covered_by == "visitor":
        _block(brand, visitor=visitor)
    else:
        _block(brand, address_hash=address_hashes("192.0.2.77")[0])
    with pytest.raises(ChatError) as refused:
        _send_as_the_socket_does(visitor, "still here?", "after-block")
    assert refused.value.code == errors.BLOCKED and refused.value.extra["until"] is not None
    assert not Message.objects.filter(client_id="after-block").exists()
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 1  # no seq was taken


def test_blocks_that_no_longer_hold_do_not_refuse(visitor, conversation, brand):
    from datetime import timedelta

    from django.utils import timezone

    from visitors.tokens import address_hashes

    _block(brand, visitor=visitor, expires_at=timezone.now() - timedelta(minutes=1))  # expired
    _block(brand, visitor=visitor, lifted_at=timezone.now())  # lifted
    _block(brand, address_hash=address_hashes("192.0.2.200")[0])  # another address
    brand.block_by_address = False
    brand.save()
    _block(brand, address_hash=address_hashes("192.0.2.77")[0])  # this address, on a brand that blocks by token only
    message, created = _send_as_the_socket_does(visitor, "hello", "a")
    assert created and message["seq"] == 2


# --- the fast path on the event loop's own connections (chatplatform/asyncdb.py) -------------

def _thread_path_forbidden(monkeypatch):
    from visitors import store

    def refuse(*args, **kwargs):
        raise AssertionError("the message took the database thread")

    monkeypatch.setattr(store, "_thread_visitor", refuse)
    monkeypatch.setattr(store, "_thread_expert", refuse)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_on_postgresql_messages_are_stored_from_the_loop(connect, alice, monkeypatch):
    # Guards against: the hot path silently falling back to the threads (its CPU saving gone).
    from channels.db import database_sync_to_async

    from tests.moderation.sockets import active_conversation
    from visitors.models import Message

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    _thread_path_forbidden(monkeypatch)
    await visitor.send({"type": "message.send", "text": "Is it waterproof?", "client_id": "v-1"})
    assert (await visitor.recv_type("message"))["message"]["seq"] == 2  # the acknowledgement
    assert (await expert.recv_type("message"))["message"]["text"] == "Is it waterproof?"
    await expert.send({"type": "message.send", "conversation": conversation_id, "text": "Yes, to 10 m.", "client_id": "e-1"})
    assert (await visitor.recv_type("message"))["message"]["text"] == "Yes, to 10 m."
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("seq", "author", "client_id"))
    )()
    assert stored[1:] == [(2, "visitor", "v-1"), (3, "expert", "e-1")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_when_the_loop_cannot_reach_postgresql_the_thread_stores_the_message(connect, alice, monkeypatch, settings):
    # Guards against: a message lost, or an error frame, because the loop's own pool is down.
    from chatplatform import asyncdb
    from tests.moderation.sockets import active_conversation

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await asyncdb.close()
    settings.CHAT_ASYNC_DB_WAIT_SECONDS = 0.3
    real = asyncdb._connection_params
    monkeypatch.setattr(asyncdb, "_connection_params", lambda: {**real(), "port": 1, "connect_timeout": 1})
    await visitor.send({"type": "message.send", "text": "Hello?", "client_id": "v-2"})
    ack = await visitor.recv_type("message")
    assert ack["message"]["seq"] == 2 and ack["message"]["client_id"] == "v-2"
    assert (await expert.recv_type("message"))["message"]["text"] == "Hello?"


def test_falling_back_to_the_thread_warns_once_per_interval_with_a_count(caplog, monkeypatch):
    # Guards against: a warning line per message while the loop's pool is exhausted (2,492 lines in
    # one reconnect storm, each costing the loop time it did not have).
    import psycopg

    from chatplatform import throttled_log
    from visitors import store

    monkeypatch.setattr(store._fallback, "at", float("-inf"))
    monkeypatch.setattr(store._fallback, "since", 0)
    clock = [1000.0]
    monkeypatch.setattr(throttled_log, "monotonic", lambda: clock[0])
    for _ in range(50):
        store._fallback_warning(psycopg.OperationalError("pool exhausted"))
    clock[0] += 11
    store._fallback_warning(psycopg.OperationalError("pool exhausted"))
    lines = [r.getMessage() for r in caplog.records if r.name == "visitors.store"]
    assert len(lines) == 2
    assert "49 more since the last warning" in lines[1]
