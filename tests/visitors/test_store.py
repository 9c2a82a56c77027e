"""The message store (visitors/store.py): its answers, and its statements where it runs them."""

import uuid

import pytest

from chatplatform import errors
from chatplatform.delivery import Refused, Retry, Stored

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def visitor(brand):
    from visitors.models import Visitor

    return Visitor.objects.select_related("brand").get(
        pk=Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex, nickname="Sam").pk
    )


@pytest.fixture
def conversation(visitor):
    from visitors.services import start_conversation

    return start_conversation(visitor=visitor, text="Which size?", client_id="start")


def _blocks(visitor):
    from moderation.blocks import BlockPolicy

    return BlockPolicy(visitor.brand, visitor, ())


async def test_the_store_answers_stored_then_retry_then_refused(visitor, conversation):
    from channels.db import database_sync_to_async

    from visitors import store
    from visitors.services import end_conversation

    first = await store.send_visitor_message(visitor=visitor, text="hello", client_id="a", blocks=_blocks(visitor))
    again = await store.send_visitor_message(visitor=visitor, text="hello", client_id="a", blocks=_blocks(visitor))
    assert isinstance(first, Stored) and first.message["seq"] == 2
    assert isinstance(again, Retry) and again.message["seq"] == 2 and again.message["text"] == "hello"
    await database_sync_to_async(end_conversation)(conversation_id=conversation.id, ended_by="visitor")
    refused = await store.send_visitor_message(visitor=visitor, text="late", client_id="b", blocks=_blocks(visitor))
    assert isinstance(refused, Refused) and refused.error.code == errors.NO_CONVERSATION


@pytest.mark.postgres
async def test_on_postgresql_a_message_from_the_loop_takes_two_statements(visitor, conversation, monkeypatch, settings):
    # Guards against: more work on the hot path where it runs (PostgreSQL, the loop's own connections):
    # one UPDATE ... RETURNING (lock, seq, block check) and one INSERT ... ON CONFLICT, nothing else.
    import psycopg

    from visitors import store

    settings.CHAT_ASYNC_DB = True
    assert store.backend() == "loop"
    statements = []
    real = psycopg.AsyncConnection.execute

    async def counted(self, query, *args, **kwargs):
        statements.append(str(query).split()[0].upper())
        return await real(self, query, *args, **kwargs)

    await store.send_visitor_message(visitor=visitor, text="warm", client_id="w", blocks=_blocks(visitor))  # pool opened
    monkeypatch.setattr(psycopg.AsyncConnection, "execute", counted)

    def no_thread(**call):
        raise AssertionError("the message took the database thread")

    monkeypatch.setattr(store, "_thread_visitor", no_thread)
    outcome = await store.send_visitor_message(visitor=visitor, text="hello", client_id="a", blocks=_blocks(visitor))
    assert isinstance(outcome, Stored) and outcome.message["seq"] == 3
    assert statements == ["UPDATE", "INSERT"], statements
