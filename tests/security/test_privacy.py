"""Personal data: never stored raw, never logged, rotated keys, retention, export and erasure."""

import io
import logging
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from django.core.management import call_command
from django.db import models

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "198.51.100.77"


@pytest.fixture
def via_proxy(settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1


async def full_conversation(connect, expert_profile, *, nickname="Sam Doe", address=ADDRESS):
    visitor = await connect.visitor(nickname=nickname, address=address)
    await visitor.send({"type": "conversation.start", "text": "my order 4711 is late", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(expert_profile)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await visitor.send({"type": "message.send", "text": "call me at 555-0100", "client_id": client_id()})
    await expert.recv_type("message")
    await visitor.request({"type": "report.file", "category": "other", "description": "slow answer",
                           "email": "sam@example.test", "conversation": conversation_id}, "report.filed")
    return visitor, expert, conversation_id


def every_text_value():
    """Every value of every text-like column of every model, as strings."""
    values = []
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField))]
        for row in model.objects.values_list(*fields) if fields else []:
            values.extend(str(v) for v in row if v)
    return values


async def test_network_addresses_and_tokens_are_never_stored_raw(connect, brand, alice, via_proxy):
    # Guards against: personal data at rest (raw IP addresses, bearer tokens) exposed by a database leak or backup.
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "test", "duration_hours": 1},
                         "block.created")
    values = await database_sync_to_async(every_text_value)()
    assert values, "the scan found nothing: it would pass vacuously"
    assert any("call me at 555-0100" in v for v in values)  # the scan does see ordinary data
    assert not [v for v in values if ADDRESS in v]
    assert not [v for v in values if visitor.token in v]


async def test_tokens_and_addresses_never_reach_a_log_line(connect, brand, alice, via_proxy, caplog, monkeypatch):
    # Guards against: secrets and personal data in logs (tokens, addresses in log lines, tracebacks or URLs).
    caplog.set_level(logging.DEBUG)
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    resumed = await connect.visitor(token=visitor.token, last_seq=1, address=ADDRESS)
    # A failing database makes the consumer log a traceback: the frame in it must not carry the token.
    from django.db import OperationalError

    from visitors import consumers

    def broken(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(consumers, "_send", broken)
    assert (await resumed.error({"type": "message.send", "text": "x", "client_id": client_id()}))["code"] == "unavailable"
    assert any(r.levelno >= logging.ERROR for r in caplog.records), "no error was logged: nothing was checked"
    for record in caplog.records:
        text = record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        assert visitor.token not in text and ADDRESS not in text, text


async def test_blocks_by_address_survive_a_key_rotation(connect, brand, alice, via_proxy, settings):
    # Guards against: key rotation silently voiding every block by address (or keeping old keys forever).
    settings.ADDRESS_HASH_KEY = "old-address-key"
    visitor, expert, conversation_id = await full_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "abuse", "duration_hours": 24},
                         "block.created")
    settings.ADDRESS_HASH_KEY = "new-address-key"
    settings.ADDRESS_HASH_PREVIOUS_KEYS = ["old-address-key"]
    again = await connect.visitor(address=ADDRESS, hello=False)
    await again.send({"type": "hello", "token": None})
    assert (await again.recv())["code"] == "blocked"
    assert await again.closed_with() == 4403
    # Once the old key is dropped, the old hash no longer matches anything.
    settings.ADDRESS_HASH_PREVIOUS_KEYS = []
    fresh = await connect.visitor(address=ADDRESS)
    assert fresh.welcome["type"] == "welcome"


async def test_retention_command_purges_old_ended_conversations_only(connect, brand, alice, via_proxy):
    # Guards against: keeping personal data forever (storage limitation), or a purge that eats live conversations.
    from moderation.models import ReportTicket
    from visitors.models import Conversation, Message, Visitor

    old_visitor, _, old_id = await full_conversation(connect, alice, nickname="Old Timer")
    await old_visitor.request({"type": "conversation.end"}, "conversation")
    live_visitor, _, live_id = await full_conversation(connect, alice, nickname="Still Here", address="203.0.113.5")

    def age_the_first():
        long_ago = Conversation.objects.get(pk=old_id).ended_at - timedelta(days=200)
        Conversation.objects.filter(pk=old_id).update(ended_at=long_ago)
        Visitor.objects.filter(conversations__pk=old_id).update(last_seen=long_ago)
        out = io.StringIO()
        call_command("purge_personal_data", stdout=out)  # default: RETENTION_DAYS (180)
        return out.getvalue()

    output = await database_sync_to_async(age_the_first)()
    assert "Purged" in output

    def state(conversation_id):
        conversation = Conversation.objects.select_related("visitor").get(pk=conversation_id)
        return {
            "texts": list(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True)),
            "names": set(Message.objects.filter(conversation_id=conversation_id, author="visitor").values_list("author_name", flat=True)),
            "nickname": conversation.visitor.nickname,
            "address_hash": conversation.visitor.address_hash,
            "emails": list(ReportTicket.objects.filter(conversation_id=conversation_id).values_list("email", flat=True)),
        }

    old = await database_sync_to_async(state)(old_id)
    assert set(old["texts"]) == {"[removed]"} and old["names"] == {"Visitor"}
    assert old["nickname"] == "" and old["address_hash"] == "" and old["emails"] == [""]
    live = await database_sync_to_async(state)(live_id)
    assert "call me at 555-0100" in live["texts"] and live["nickname"] == "Still Here"
    assert live["address_hash"] and live["emails"] == ["sam@example.test"]


async def test_a_visitor_can_export_then_erase_their_data(connect, brand, alice, via_proxy):
    # Guards against: no way to honour data-subject access and erasure requests (GDPR art. 15 and 17).
    from moderation.models import ReportTicket
    from visitors.models import Message

    visitor, expert, conversation_id = await full_conversation(connect, alice)
    second_tab = await connect.visitor(token=visitor.token, address=ADDRESS)
    exported = await visitor.request({"type": "data.export"}, "data.export")
    data = exported["data"]
    assert data["visitor"]["nickname"] == "Sam Doe"
    assert [c["id"] for c in data["conversations"]] == [conversation_id]
    assert [m["text"] for m in data["conversations"][0]["messages"]] == ["my order 4711 is late", "call me at 555-0100"]
    assert data["reports"][0]["email"] == "sam@example.test"

    await visitor.send({"type": "data.erase"})
    for tab in (visitor, second_tab):
        assert (await tab.recv_type("data.erased", timeout=2))["type"] == "data.erased"
        assert await tab.closed_with(timeout=2) == 4401
    assert (await expert.recv_type("conversation"))["conversation"]["status"] == "ended"
    texts = await database_sync_to_async(lambda: set(Message.objects.filter(conversation_id=conversation_id).values_list("text", flat=True)))()
    assert texts == {"[removed]"}
    emails = await database_sync_to_async(lambda: list(ReportTicket.objects.values_list("email", flat=True)))()
    assert emails == [""]
    # The old token no longer opens the erased visitor: it is a stranger now.
    again = await connect.visitor(token=visitor.token, address=ADDRESS)
    assert again.welcome["visitor"]["id"] != data["visitor"]["id"] and again.welcome["conversation"] is None
