"""The messaging core's services: seq allocation, idempotence, events after commit."""

import threading

import pytest
from django.db import connection

from chatplatform.errors import ChatError
from visitors import services
from visitors.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def visitor(brand):
    visitor, _ = services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    return visitor


@pytest.fixture
def conversation(visitor):
    return services.start_conversation(visitor=visitor, text="first", client_id="c0")


def test_seq_starts_at_one_and_grows_by_one(visitor, conversation):
    seqs = [services.send_visitor_message(visitor=visitor, text=f"m{i}", client_id=f"c{i+1}")[0].seq for i in range(5)]
    assert seqs == [2, 3, 4, 5, 6]
    conversation.refresh_from_db()
    assert conversation.last_seq == 6


def test_retry_with_same_client_id_returns_the_stored_row(visitor, conversation):
    first, created = services.send_visitor_message(visitor=visitor, text="hello", client_id="same")
    again, created_again = services.send_visitor_message(visitor=visitor, text="hello (retry)", client_id="same")
    assert created and not created_again
    assert again.pk == first.pk and again.text == "hello"
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_retry_after_the_end_still_returns_the_stored_row(visitor, conversation):
    sent, _ = services.send_visitor_message(visitor=visitor, text="last words", client_id="late")
    services.end_visitor_conversation(visitor=visitor)
    again, created = services.send_visitor_message(visitor=visitor, text="last words", client_id="late")
    assert again.pk == sent.pk and not created


def test_a_retried_start_returns_the_same_conversation(visitor, conversation):
    again = services.start_conversation(visitor=visitor, text="first", client_id="c0")
    assert again.pk == conversation.pk
    with pytest.raises(ChatError) as excinfo:
        services.start_conversation(visitor=visitor, text="other", client_id="c-other")
    assert excinfo.value.code == "conversation_open"


def test_concurrent_senders_get_distinct_consecutive_seqs(visitor, conversation):
    """Eight threads sending at once: no repeated seq, no gap (row lock on the conversation)."""
    errors = []

    def send(n):
        try:
            services.send_visitor_message(visitor=visitor, text=f"t{n}", client_id=f"t{n}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, 10))
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 9


def test_no_event_leaves_a_transaction_that_rolls_back(visitor, conversation, captured_events):
    from django.db import transaction

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.send_visitor_message(visitor=visitor, text="doomed", client_id="doomed")
            raise RuntimeError("the database write failed later")
    assert not Message.objects.filter(client_id="doomed").exists()
    assert [e for e in captured_events if e["event"].get("message", {}).get("client_id") == "doomed"] == []


def test_read_mark_only_moves_forward_and_not_past_the_last_message(visitor, conversation):
    assert services.mark_read(conversation_id=conversation.pk, reader="expert", seq=5) == 1
    assert services.mark_read(conversation_id=conversation.pk, reader="expert", seq=1) is None
    services.send_visitor_message(visitor=visitor, text="more", client_id="more")
    assert services.mark_read(conversation_id=conversation.pk, reader="expert", seq=2) == 2
