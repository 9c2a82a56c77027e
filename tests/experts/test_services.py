"""Routing services: atomic claiming, capacity, next expert."""

import threading

import pytest
from django.db import connection

from chatplatform.errors import ChatError
from experts import services
from visitors import services as visitor_services
from visitors.models import Conversation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def waiting(brand):
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
    return visitor_services.start_conversation(visitor=visitor, text="help", client_id="c1")


def race(*claims):
    """Run the claims in threads released at the same moment; return their outcomes."""
    barrier = threading.Barrier(len(claims))
    outcomes = [None] * len(claims)

    def run(index, expert, conversation_id):
        barrier.wait()
        try:
            services.claim_conversation(expert=expert, conversation_id=conversation_id)
            outcomes[index] = "won"
        except ChatError as exc:
            outcomes[index] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *claim)) for i, claim in enumerate(claims)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_two_claims_racing_on_postgresql_exactly_one_wins(make_expert, brand, waiting):
    experts = [make_expert(f"expert{i}", brands=[brand], capacity=10) for i in range(2)]
    for _ in range(5):
        conversation = waiting if _ == 0 else visitor_services.start_conversation(
            visitor=visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")[0],
            text="again", client_id="c",
        )
        outcomes = race(*[(expert, conversation.pk) for expert in experts])
        assert sorted(outcomes) == ["already_claimed", "won"]
        conversation.refresh_from_db()
        assert conversation.status == "active"


@pytest.mark.postgres
def test_one_expert_claiming_two_at_once_cannot_pass_capacity(make_expert, brand):
    expert = make_expert("solo", brands=[brand], capacity=1)
    conversations = []
    for n in range(2):
        visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
        conversations.append(visitor_services.start_conversation(visitor=visitor, text="q", client_id=f"c{n}"))
    outcomes = race(*[(expert, c.pk) for c in conversations])
    assert sorted(outcomes) == ["capacity", "won"]
    assert Conversation.objects.filter(expert=expert, status="active").count() == 1


def test_claim_on_any_database_is_exclusive(make_expert, brand, waiting):
    alice = make_expert("alice", brands=[brand])
    bob = make_expert("bob", brands=[brand])
    services.claim_conversation(expert=alice, conversation_id=waiting.pk)
    with pytest.raises(ChatError) as excinfo:
        services.claim_conversation(expert=bob, conversation_id=waiting.pk)
    assert excinfo.value.code == "already_claimed"


def test_suspended_expert_cannot_claim(make_expert, brand, waiting):
    alice = make_expert("alice", brands=[brand])
    alice.is_suspended = True
    alice.save()
    with pytest.raises(ChatError) as excinfo:
        services.claim_conversation(expert=alice, conversation_id=waiting.pk)
    assert excinfo.value.code == "forbidden"


def test_claiming_an_ended_conversation(make_expert, brand, waiting):
    alice = make_expert("alice", brands=[brand])
    visitor_services.end_conversation(conversation_id=waiting.pk, ended_by="visitor")
    with pytest.raises(ChatError) as excinfo:
        services.claim_conversation(expert=alice, conversation_id=waiting.pk)
    assert excinfo.value.code == "ended"


def test_an_excluded_expert_is_not_offered_the_visitors_next_question(make_expert, brand, waiting):
    from experts.selectors import claimable_queue

    alice = make_expert("alice", brands=[brand])
    services.claim_conversation(expert=alice, conversation_id=waiting.pk)
    services.next_expert(visitor=waiting.visitor)
    assert claimable_queue(alice) == []
    visitor_services.end_conversation(conversation_id=waiting.pk, ended_by="visitor")
    later = visitor_services.start_conversation(visitor=waiting.visitor, text="new question", client_id="c9")
    assert list(later.excluded_experts.all()) == [alice]


def test_an_empty_queue_has_no_previews_and_builds_no_query(monkeypatch):
    # Every expert welcome asks for the previews, and the queue is most often empty: building
    # the query just to find its IN empty was a fortieth of a reconnect storm's CPU.
    from experts import selectors

    class NoQuery:
        @property
        def objects(self):
            raise AssertionError("a query was built for an empty queue")

    monkeypatch.setattr(selectors, "Message", NoQuery())
    assert selectors.queue_previews([]) == {}
    assert selectors.queue_previews(iter(())) == {}
