"""The event contract (after zulip's verify_action): run a service, capture what it emits,
validate each event against its schema and round-trip it through msgpack."""

import msgpack
import pytest

from chatplatform.event_types import EVENTS
from chatplatform.protocol import ConversationObject, MessageObject
from experts import services as expert_services
from visitors import services

pytestmark = pytest.mark.django_db(transaction=True)


def _queue_added(e):
    ConversationObject.model_validate(e["conversation"])
    assert isinstance(e["preview"], str) and isinstance(e["excluded"], list), e


def _queue_removed(e):
    assert isinstance(e["conversation"], str), e


def _read(e):
    assert isinstance(e["conversation"], str) and e["reader"] in ("visitor", "expert"), e
    assert type(e["seq"]) is int and e["seq"] >= 0, e


def _visitor_presence(e):
    assert set(e) == {"type", "visitor"} and isinstance(e["visitor"], str), e


def _presence(e):
    assert e["status"] in ("online", "away", "offline"), e


def _typing(e):
    assert isinstance(e["conversation"], str) and e["author"] in ("visitor", "expert"), e
    assert type(e["active"]) is bool, e


# Each raises (pydantic's ValidationError or AssertionError) on an event that breaks its shape.
SCHEMAS = {
    "chat.message": lambda e: MessageObject.model_validate(e["message"]),
    "chat.conversation": lambda e: ConversationObject.model_validate(e["conversation"]),
    "queue.added": _queue_added,
    "queue.removed": _queue_removed,
    "queue.updated": lambda e: ConversationObject.model_validate(e["conversation"]),
    "visitor.presence": _visitor_presence,
    "chat.read": _read,
    "expert.presence": _presence,
    "chat.typing": _typing,
}


def check(captured):
    assert captured, "the action emitted no event"
    for item in captured:
        event = item["event"]
        assert event["type"] in SCHEMAS or event["type"] in EVENTS, event["type"]
        if event["type"] in SCHEMAS:
            SCHEMAS[event["type"]](event)
        EVENTS[event["type"]].model_validate(event)  # its declaration (chatplatform/event_types.py), extra fields refused
        assert msgpack.unpackb(msgpack.packb(event)) == event, event["type"]
    kinds = [item["event"]["type"] for item in captured]
    captured.clear()
    return kinds


def test_every_action_emits_schema_valid_msgpack_safe_events(brand, alice, bob, captured_events):
    visitor, _ = services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    conversation = services.start_conversation(visitor=visitor, text="hello", client_id="c1")
    assert check(captured_events) == ["chat.conversation", "queue.added"]
    services.mark_visitor_away(visitor_id=visitor.pk)
    assert check(captured_events) == ["queue.updated", "visitor.presence"]
    services.mark_visitor_here(visitor_id=visitor.pk)
    assert check(captured_events) == ["queue.updated"]
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    assert check(captured_events) == ["chat.conversation", "chat.conversation", "queue.removed"]
    services.send_visitor_message(visitor=visitor, text="more", client_id="c2")
    assert check(captured_events) == ["chat.message"]
    services.send_expert_message(expert=alice, conversation_id=conversation.pk, text="answer", client_id="e1")
    assert check(captured_events) == ["chat.message"]
    services.mark_read(conversation_id=conversation.pk, reader="visitor", seq=3)
    assert check(captured_events) == ["chat.read"]
    expert_services.next_expert(visitor=visitor)
    assert "queue.added" in check(captured_events)
    expert_services.claim_conversation(expert=bob, conversation_id=conversation.pk)
    check(captured_events)
    expert_services.release_conversation(expert=bob, conversation_id=conversation.pk)
    check(captured_events)
    services.end_by_system(conversation_id=conversation.pk, reason="unanswered", notice="Closed.")
    assert check(captured_events) == ["chat.message", "chat.conversation", "queue.removed"]
    services.rate_conversation(visitor=visitor, score=4, comment="ok")
    check(captured_events)
    expert_services.set_presence(expert=alice, status="away")
    assert check(captured_events) == ["expert.presence"]


async def test_typing_which_nothing_stores_is_schema_valid_and_msgpack_safe(monkeypatch):
    import uuid

    from chatplatform import events

    sent = []

    async def capture(group, event, attempts=1):
        sent.append({"group": group, "event": event})
        return True

    monkeypatch.setattr(events, "_group_send", capture)
    conversation_id = uuid.uuid4()  # a UUID, as the consumers hold it: the event must carry a string
    await services.relay_typing(conversation_id=conversation_id, author="expert", active=True)
    assert sent[0]["group"] == f"conversation.{conversation_id}"
    assert check(sent) == ["chat.typing"]


def test_the_moderation_ladder_emits_declared_msgpack_safe_events(brand, alice, captured_events, django_user_model):
    from moderation import services as moderation_services

    visitor, _ = services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    conversation = services.start_conversation(visitor=visitor, text="hello", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    check(captured_events)
    moderation_services.warn(expert=alice, conversation_id=conversation.pk, text="Please stay polite.")
    assert check(captured_events) == ["chat.message"]
    moderation_services.alert_managers(expert=alice, conversation_id=conversation.pk, note="Threats")
    assert check(captured_events) == ["alert.created"]
    moderation_services.file_visitor_report(visitor=visitor, category="abuse", description="rude")
    assert "report.created" in check(captured_events)
    moderation_services.block_visitor(expert=alice, conversation_id=conversation.pk, reason="Threats", duration_hours=1)
    kinds = check(captured_events)
    assert {"visitor.blocked", "block.created", "chat.conversation"} <= set(kinds), kinds
    manager = django_user_model.objects.create_user("manager", password="x", is_staff=True)
    moderation_services.set_suspended(user=manager, expert=alice, suspended=True)
    assert "expert.suspended" in check(captured_events)
