"""The brands' queues (experts/queue.py): the messaging core says a question waits, the experts app fans it out."""

import pytest

from visitors import services as visitor_services
from visitors import signals

pytestmark = pytest.mark.django_db(transaction=True)


def _types(captured, prefix="queue."):
    return [c["event"]["type"] for c in captured if c["event"]["type"].startswith(prefix)]


def test_a_started_question_reaches_the_queue_through_the_experts_app(brand, captured_events):
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Which size?", client_id="c1")
    added = [c for c in captured_events if c["event"]["type"] == "queue.added"]
    assert [c["group"] for c in added] == [f"queue.{brand.slug}"]
    assert added[0]["event"]["preview"] == "Which size?"
    visitor_services.end_visitor_conversation(visitor=visitor)
    assert _types(captured_events) == ["queue.added", "queue.removed"]
    assert captured_events[-1]["event"]["conversation"] == str(conversation.id)


def test_without_the_experts_receivers_the_messaging_core_offers_nothing(brand, captured_events):
    # Guards against routing creeping back into visitors: disconnected, no queue event at all,
    # and a visitor's coming and going reads no waiting conversation for nobody.
    from experts import queue

    receivers = [
        (signals.question_waiting, queue._on_waiting, "experts.queue.offer"),
        (signals.question_withdrawn, queue._on_withdrawn, "experts.queue.withdraw"),
        (signals.waiting_visitor_changed, queue._on_visitor_changed, "experts.queue.announce"),
    ]
    for signal, _, uid in receivers:
        assert signal.disconnect(dispatch_uid=uid)
    try:
        visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="", address_hash="")
        visitor_services.start_conversation(visitor=visitor, text="Which size?", client_id="c1")
        visitor_services.mark_visitor_away(visitor_id=visitor.pk)
        visitor_services.end_visitor_conversation(visitor=visitor)
        assert _types(captured_events) == []
        assert "chat.conversation" in _types(captured_events, prefix="chat.")
    finally:
        queue.connect_receivers()
    assert all(signal.has_listeners() for signal, _, _ in receivers)


def test_next_expert_is_routed_by_the_experts_app(brand):
    from experts import services as expert_services
    from visitors import router

    assert router._next_expert is expert_services.next_expert
