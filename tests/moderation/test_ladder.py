"""The expert's ladder through the real sockets: warn, end, alert, block; and reports."""

import re

import pytest
from channels.db import database_sync_to_async
from django.core import mail

from tests.moderation.sockets import active_conversation, moderation_feed, visitor_from
from tests.support import arun_worker_once, session_cookie, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


async def test_warn_posts_the_brands_politeness_reminder_or_the_experts_words(connect, brand, alice, via_proxy):
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.send({"type": "moderation.warn", "conversation": conversation_id})
    warning = (await visitor.recv_type("message"))["message"]
    assert warning["kind"] == "warning" and warning["author"] == "system"
    assert warning["text"] == "I'm a member of the community. I'm here to help and to share my knowledge. Please remain polite and respectful!"
    assert (await expert.recv_type("message"))["message"]["kind"] == "warning"
    await expert.send({"type": "moderation.warn", "conversation": conversation_id, "text": "Please keep it civil."})
    assert (await visitor.recv_type("message"))["message"]["text"] == "Please keep it civil."


async def test_alert_reaches_the_live_feed_and_the_managers_mailbox(connect, brand, alice, manager, via_proxy):
    feed = await moderation_feed(connect, manager)
    assert feed.welcome == {"type": "welcome", "open_alerts": [], "open_alert_count": 0, "open_reports": 0, "active_blocks": 0}
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    raised = await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "Insults again"}, "alert.raised")
    created = await feed.recv_type("alert.created")
    assert created["alert"]["id"] == raised["alert"]["id"]
    assert created["alert"]["note"] == "Insults again" and created["alert"]["raised_by"] == "Alice"
    assert created["alert"]["conversation"] == conversation_id and created["alert"]["status"] == "open"
    assert mail.outbox == []  # the socket's path only queues it: the worker sends it
    await arun_worker_once()
    assert [m.to for m in mail.outbox] == [["carol@example.test"]]
    updated = await feed.request({"type": "alert.ack", "alert": raised["alert"]["id"]}, "alert.updated")
    assert updated["alert"]["status"] == "acknowledged"
    assert (await feed.error({"type": "alert.ack", "alert": "99999"}))["code"] == "not_found"


async def test_block_ends_it_closes_every_tab_and_holds_at_hello(connect, brand, alice, manager, via_proxy):
    from visitors.models import Conversation

    feed = await moderation_feed(connect, manager)
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    second_tab = await visitor_from(connect, "198.51.100.7", token=visitor.token)
    created = await expert.request(
        {"type": "moderation.block", "conversation": conversation_id, "reason": "Threats", "duration_hours": 24}, "block.created"
    )
    assert created["block"]["until"] is not None
    for tab in (visitor, second_tab):
        error = await tab.recv_type("error")
        assert error["code"] == "blocked" and error["until"] == created["block"]["until"]
        assert await tab.closed_with() == 4403
    ended = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    assert ended.status == "ended" and ended.ended_by == "moderator"
    assert (await feed.recv_type("block.created"))["block"]["id"] == created["block"]["id"]
    block_alert = (await feed.recv_type("alert.created"))["alert"]
    assert block_alert["kind"] == "block"
    # The note is for people: a minute in UTC, not an ISO stamp with microseconds.
    assert re.fullmatch(r"Alice blocked a visitor \(until \d{4}-\d\d-\d\d \d\d:\d\d UTC\): Threats", block_alert["note"])

    # At hello: by token, and by address after the visitor drops its token.
    for token in (visitor.token, None):
        again = await connect.visitor(token=token, origin=b"https://shop.acme.test", address="198.51.100.7", hello=False)
        await again.send({"type": "hello", "token": token})
        error = await again.recv()
        assert error["code"] == "blocked"
        assert await again.closed_with() == 4403
    # Someone else, from another address, is welcome.
    other = await visitor_from(connect, "203.0.113.9")
    assert other.welcome["type"] == "welcome"


async def test_a_brand_may_block_by_token_only(connect, brand, alice, via_proxy):
    brand.block_by_address = False
    await database_sync_to_async(brand.save)()
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Spam", "duration_hours": None}, "block.created")
    await visitor.recv_type("error")
    fresh = await visitor_from(connect, "198.51.100.7")  # same address, new token
    assert fresh.welcome["type"] == "welcome"
    again = await connect.visitor(token=visitor.token, address="198.51.100.7", hello=False)
    await again.send({"type": "hello", "token": visitor.token})
    assert (await again.recv())["code"] == "blocked"


async def test_expired_and_lifted_blocks_let_the_visitor_back(connect, brand, alice, manager, via_proxy):
    from datetime import timedelta

    from django.utils import timezone

    from moderation import services
    from moderation.models import Block

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Rude", "duration_hours": 1}, "block.created")
    await visitor.recv_type("error")
    block = await database_sync_to_async(Block.objects.get)()
    block.expires_at = timezone.now() - timedelta(seconds=1)
    await database_sync_to_async(block.save)()
    back = await visitor_from(connect, "198.51.100.7", token=visitor.token)
    assert back.welcome["type"] == "welcome"

    visitor2, expert2, conversation2 = await active_conversation(connect, alice, address="198.51.100.8")
    await expert2.request({"type": "moderation.block", "conversation": conversation2, "reason": "Rude", "duration_hours": None}, "block.created")
    await visitor2.recv_type("error")
    block = await database_sync_to_async(Block.objects.get)(conversation_id=conversation2)
    await database_sync_to_async(services.lift_block)(user=manager, block=block, reason="Apologised by e-mail")
    lifted = await visitor_from(connect, "198.51.100.8", token=visitor2.token)
    assert lifted.welcome["type"] == "welcome"


async def test_a_blocked_visitor_is_never_routed_to_that_expert_again(connect, brand, alice, bob, manager, via_proxy):
    from moderation import services
    from moderation.models import Block

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Rude", "duration_hours": 1}, "block.created")
    await visitor.recv_type("error")
    block = await database_sync_to_async(Block.objects.get)()
    await database_sync_to_async(services.lift_block)(user=manager, block=block, reason="second chance")
    back = await visitor_from(connect, "198.51.100.7", token=visitor.token)
    await back.send({"type": "conversation.start", "text": "Hello again", "client_id": "again"})
    new_id = (await back.recv_type("conversation"))["conversation"]["id"]
    alice_socket = await connect.expert(alice)
    assert new_id not in [c["id"] for c in alice_socket.welcome["queue"]]
    assert (await alice_socket.error({"type": "conversation.claim", "conversation": new_id}))["code"] == "forbidden"
    bob_socket = await connect.expert(bob)
    assert new_id in [c["id"] for c in bob_socket.welcome["queue"]]


async def test_block_validation_and_access(connect, brand, alice, bob, via_proxy):
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    assert (await expert.error({"type": "moderation.block", "conversation": conversation_id, "reason": "x"}))["code"] == "invalid_field"
    assert (await expert.error({"type": "moderation.block", "conversation": conversation_id, "reason": "x", "duration_hours": 0}))["code"] == "invalid_field"
    other = await connect.expert(bob)
    for frame in (
        {"type": "moderation.block", "conversation": conversation_id, "reason": "x", "duration_hours": 1},
        {"type": "moderation.warn", "conversation": conversation_id},
        {"type": "moderation.alert", "conversation": conversation_id, "note": "n"},
    ):
        assert (await other.error(frame))["code"] == "forbidden"
    assert await visitor.nothing()  # nothing happened to the visitor


async def test_a_suspended_expert_is_cut_off_mid_conversation(connect, brand, alice, manager, via_proxy):
    from moderation import services

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await database_sync_to_async(services.set_suspended)(user=manager, expert=alice, suspended=True)
    assert (await expert.recv_type("error"))["code"] == "forbidden"
    assert await expert.closed_with() == 4403
    again = await connect.expert(alice, expect_welcome=False)
    assert await again.closed_with() == 4403


async def test_visitor_reports_during_after_and_without_a_conversation(connect, brand, alice, manager, via_proxy):
    from moderation.models import ReportTicket

    feed = await moderation_feed(connect, manager)
    lone = await visitor_from(connect, "203.0.113.5")
    filed = await lone.request({"type": "report.file", "category": "other", "description": "The widget covered the checkout."}, "report.filed")
    assert filed["reference"].startswith("R-")
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    during = await visitor.request(
        {"type": "report.file", "category": "disrespectful", "description": "The expert mocked me.", "email": "me@example.test",
         "conversation": conversation_id}, "report.filed")
    pushed = [await feed.recv_type("report.created"), await feed.recv_type("report.created")]
    assert [p["report"]["reference"] for p in pushed] == [filed["reference"], during["reference"]]
    ticket = await database_sync_to_async(ReportTicket.objects.get)(reference=during["reference"])
    assert ticket.email == "me@example.test" and str(ticket.conversation_id) == conversation_id and ticket.status == "open"
    await visitor.request({"type": "conversation.end"}, "conversation")
    after = await visitor.request({"type": "report.file", "category": "unhelpful", "description": "No answer.", "conversation": conversation_id}, "report.filed")
    assert after["reference"] != during["reference"]
    # Someone else's conversation cannot be reported by reference.
    assert (await lone.error({"type": "report.file", "category": "other", "description": "x", "conversation": conversation_id}))["code"] == "not_found"
    assert (await lone.error({"type": "report.file", "category": "spam", "description": "x"}))["code"] == "invalid_field"
    assert (await lone.error({"type": "report.file", "category": "other", "description": "x", "email": "not-an-email"}))["code"] == "invalid_field"
    by_expert = await expert.request({"type": "report.file", "conversation": conversation_id, "category": "inappropriate", "description": "Sent a link to a scam."}, "report.filed")
    ticket = await database_sync_to_async(ReportTicket.objects.select_related("filed_by_expert").get)(reference=by_expert["reference"])
    assert ticket.filed_by == "expert" and ticket.filed_by_expert.pk == alice.pk
    await arun_worker_once()  # the managers hear of each report once, from the worker
    mailed = sorted(re.search(r"R-\w+", m.subject).group() for m in mail.outbox)
    assert mailed == sorted(r["reference"] for r in (filed, during, after, by_expert))
    assert "The expert mocked me." in next(m.body for m in mail.outbox if during["reference"] in m.subject)


async def test_every_action_is_in_the_audit_trail(connect, brand, alice, via_proxy):
    from moderation.models import ModerationEvent

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.send({"type": "moderation.warn", "conversation": conversation_id})
    await expert.recv_type("message")
    await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "n"}, "alert.raised")
    await expert.request({"type": "report.file", "conversation": conversation_id, "category": "other", "description": "d"}, "report.filed")
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "r", "duration_hours": 2}, "block.created")
    visitor2, expert2, conversation2 = await active_conversation(connect, alice, address="198.51.100.99")
    await expert2.request({"type": "conversation.end", "conversation": conversation2}, "conversation")
    actions = await database_sync_to_async(lambda: list(ModerationEvent.objects.order_by("created_at", "id").values_list("action", "actor_kind")))()
    assert actions == [("warn", "expert"), ("alert", "expert"), ("report", "expert"), ("block", "expert"), ("end", "expert")]


async def test_flood_gets_rate_limited_and_nothing_is_stored(connect, brand, alice, via_proxy, settings):
    from visitors.models import Message

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "3/minute", "address": "100/minute"}}
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.44")
    for n in range(3):
        await visitor.request({"type": "message.send", "text": f"m{n}", "client_id": f"f{n}"}, "message")
    error = await visitor.error({"type": "message.send", "text": "too many", "client_id": "f-over"})
    assert error["code"] == "rate_limited" and error["ref"] == "f-over"
    assert not await database_sync_to_async(Message.objects.filter(client_id="f-over").exists)()


async def test_abusive_messages_are_flagged_and_repeated_flags_alert(connect, brand, alice, manager, via_proxy):
    from moderation.models import Alert

    feed = await moderation_feed(connect, manager)
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.45")
    await visitor.request({"type": "message.send", "text": "Thanks for the help", "client_id": "ok"}, "message")
    for n, text in enumerate(["you are an 1d10t", "STUUUPID answer", "what a moron"]):
        sent = await visitor.request({"type": "message.send", "text": text, "client_id": f"bad{n}"}, "message")
        assert sent["message"]["text"] == text  # delivered, never dropped
    seen = [m for m in await expert.drain() if m["type"] == "message"]
    assert [m["message"]["flagged"] for m in seen][-4:] == [False, True, True, True]  # marked for the expert
    alert = await feed.recv_type("alert.created")
    assert alert["alert"]["kind"] == "abuse" and alert["alert"]["raised_by"] == "system"
    assert await database_sync_to_async(Alert.objects.filter(kind="abuse").count)() == 1


async def test_the_visitor_never_sees_which_messages_were_flagged(connect, brand, alice, via_proxy):
    # Guards against: the filter's mark telling a visitor which words trip it (live, in sync, at resume, in a second tab).
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.46")
    second_tab = await visitor_from(connect, "192.0.2.46", token=visitor.token)
    await visitor.request({"type": "message.send", "text": "you are an idiot", "client_id": "bad"}, "message")
    assert (await expert.recv_type("message"))["message"]["flagged"] is True
    await second_tab.recv_type("message")
    synced = await visitor.request({"type": "sync", "after_seq": 0}, "messages")
    resumed = await connect.visitor(token=visitor.token, address="192.0.2.46")
    exported = await visitor.request({"type": "data.export"}, "data.export")
    frames = visitor.log + second_tab.log + resumed.log
    assert any(f["type"] == "message" and f["text"] == "you are an idiot" for f in frames)
    assert [m["text"] for m in synced["messages"]] == ["Where is my order?", "you are an idiot"]
    assert [m["text"] for m in resumed.welcome["messages"]] == ["Where is my order?", "you are an idiot"]
    assert "flagged" not in str(frames) and "flagged" not in str(exported)


async def test_moderation_socket_requires_the_permission(connect, brand, alice, manager):
    own = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    socket, connected, _ = await connect.raw("/ws/v1/moderation/", own)
    assert await socket.closed_with() == 4401
    cookie = await database_sync_to_async(session_cookie)(alice.user)
    socket, connected, _ = await connect.raw("/ws/v1/moderation/", [(b"cookie", cookie), *own])
    assert await socket.closed_with() == 4403
    cookie = await database_sync_to_async(session_cookie)(manager)
    _, connected, _ = await connect.raw("/ws/v1/moderation/", [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"https://evil.test")])
    assert not connected


async def test_an_address_block_shuts_out_another_visitor_on_that_address_at_once(connect, brand, alice, via_proxy):
    neighbour = await visitor_from(connect, "198.51.100.7")  # same address, another token
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Threats", "duration_hours": 24}, "block.created")
    assert (await neighbour.recv_type("error"))["code"] == "blocked"
    assert await neighbour.closed_with() == 4403


async def test_made_up_tokens_count_as_new_visitors_and_a_flooded_hello_closes_with_4429(connect, brand, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "new_visitor": {"address": "2/minute"}}
    await visitor_from(connect, "192.0.2.60")
    await visitor_from(connect, "192.0.2.60", token="made-up-token")
    third = await connect.visitor(address="192.0.2.60", hello=False)
    await third.send({"type": "hello", "token": "another-made-up-token"})
    assert (await third.recv())["code"] == "rate_limited"
    assert await third.closed_with() == 4429


async def test_suspending_an_expert_hands_their_visitors_back_to_the_queue(connect, brand, alice, bob, manager, via_proxy):
    from moderation import services

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await database_sync_to_async(services.set_suspended)(user=manager, expert=alice, suspended=True)
    back = await visitor.recv_type("conversation")
    assert back["conversation"]["status"] == "waiting" and back["conversation"]["expert"] is None
    other = await connect.expert(bob)
    assert conversation_id in [c["id"] for c in other.welcome["queue"]]


async def test_going_over_a_flood_limit_alerts_the_managers_once(connect, brand, alice, manager, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "1/minute"}}
    feed = await moderation_feed(connect, manager)
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.61")
    await visitor.request({"type": "message.send", "text": "one", "client_id": "o1"}, "message")
    for n in range(3):
        assert (await visitor.error({"type": "message.send", "text": "more", "client_id": f"o{n + 2}"}))["code"] == "rate_limited"
    alert = await feed.recv_type("alert.created")
    assert alert["alert"]["kind"] == "flood"
    assert [f for f in await feed.drain() if f["type"] == "alert.created"] == []


async def test_the_abuse_alert_is_raised_once_per_conversation(connect, brand, alice, manager, via_proxy, settings):
    # Guards against: every flagged message past the threshold paging the managers again.
    from moderation.models import Alert, ModerationEvent

    settings.ABUSE_ALERT_THRESHOLD = 2
    feed = await moderation_feed(connect, manager)
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.47")
    for n in range(5):
        await visitor.request({"type": "message.send", "text": f"moron number {n}", "client_id": f"m{n}"}, "message")
    assert (await feed.recv_type("alert.created"))["alert"]["kind"] == "abuse"
    assert [f for f in await feed.drain(timeout=0.3) if f["type"] == "alert.created"] == []
    assert await database_sync_to_async(Alert.objects.filter(kind="abuse").count)() == 1
    assert await database_sync_to_async(ModerationEvent.objects.filter(action="flag").count)() == 5  # each flag is still recorded
    await arun_worker_once()
    assert len(mail.outbox) == 1


async def test_suspending_from_the_admin_closes_the_experts_open_socket(connect, brand, alice, manager, via_proxy):
    # Guards against: a suspension that waits for the expert's next reconnect to take effect.
    from django.test import Client

    expert = await connect.expert(alice)

    def suspend_in_the_admin():
        client = Client()
        sign_in(client, manager)
        return client.post("/admin/experts/expertprofile/", {"action": "suspend", "_selected_action": [alice.pk]})

    assert (await database_sync_to_async(suspend_in_the_admin)()).status_code == 302
    assert (await expert.recv_type("error"))["code"] == "forbidden"
    assert await expert.closed_with() == 4403
