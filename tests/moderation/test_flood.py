"""Flood control on the visitor socket: rates per visitor and per address, sockets open at once,
and which network address a socket counts as (never a header the operator did not name)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from moderation import flood
from tests.moderation.sockets import active_conversation, claimed, start, visitor_from, visitor_with_peer

pytestmark = pytest.mark.django_db(transaction=True)


async def hello_refused(connect, address, token=None) -> dict:
    """Open a socket from ``address`` and say hello; return the error it gets (then it must close with 4429)."""
    socket = await connect.visitor(address=address, token=token, hello=False)
    await socket.send({"type": "hello", "token": token})
    error = await socket.recv()
    assert await socket.closed_with() == 4429
    return error


# --- rates -------------------------------------------------------------------------------

async def test_new_conversations_are_rate_limited_per_visitor(connect, brand, via_proxy, settings):
    # Guards against: a visitor flooding the experts' queue by ending and starting again.
    from visitors.models import Conversation

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "conversation_start": {"visitor": "2/minute", "address": "100/minute"}}
    visitor = await visitor_from(connect, "192.0.2.100")
    for _ in range(2):
        await start(visitor)
        await visitor.request({"type": "conversation.end"}, "conversation")
    error = await visitor.error({"type": "conversation.start", "text": "and again", "client_id": "third"})
    assert error["code"] == "rate_limited" and error["ref"] == "third"
    assert await database_sync_to_async(Conversation.objects.count)() == 2
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"  # slowed down, not thrown out


async def test_connections_are_rate_limited_per_address_before_hello(connect, brand, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "connection": {"visitor": "100/minute", "address": "2/minute"}}
    for _ in range(2):
        await visitor_from(connect, "192.0.2.101")
    third = await connect.visitor(address="192.0.2.101", hello=False)
    assert (await third.recv())["code"] == "rate_limited"  # before any frame of its own
    assert await third.closed_with() == 4429
    assert (await visitor_from(connect, "192.0.2.102")).welcome["type"] == "welcome"  # another address is not slowed


async def test_connections_are_rate_limited_per_visitor_at_hello(connect, brand, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "connection": {"visitor": "1/minute", "address": "100/minute"}}
    first = await visitor_from(connect, "192.0.2.103")  # a new visitor: counted as one, not as a connection
    await first.close()
    await visitor_from(connect, "192.0.2.103", token=first.token)  # the visitor's one reconnection of the minute
    assert (await hello_refused(connect, "192.0.2.103", token=first.token))["code"] == "rate_limited"
    assert (await visitor_from(connect, "192.0.2.103")).welcome["type"] == "welcome"  # someone else on that address


async def test_an_address_limit_counts_every_visitor_on_that_address(connect, brand, alice, via_proxy, settings):
    # Guards against: a flood spread over many fresh tokens from one address getting through.
    from visitors.models import Message

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "100/minute", "address": "3/minute"}}
    one, expert, _ = await active_conversation(connect, alice, address="192.0.2.104")
    two = await visitor_from(connect, "192.0.2.104")
    await claimed(connect, alice, two, await start(two))
    for n in range(2):
        await one.request({"type": "message.send", "text": f"one {n}", "client_id": f"one{n}"}, "message")
    await two.request({"type": "message.send", "text": "two 0", "client_id": "two0"}, "message")
    error = await two.error({"type": "message.send", "text": "two 1", "client_id": "two1"})
    assert error["code"] == "rate_limited" and error["ref"] == "two1"
    assert not await database_sync_to_async(Message.objects.filter(client_id="two1").exists)()
    elsewhere, _, _ = await active_conversation(connect, alice, address="192.0.2.105")
    await elsewhere.request({"type": "message.send", "text": "fine", "client_id": "else"}, "message")


async def test_a_refused_message_counts_against_no_limit(connect, brand, alice, via_proxy, settings):
    # Guards against: a visitor refused by their address's limit using up their own allowance too
    # (the limits are checked and counted together, or not at all).
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "3/minute", "address": "2/minute"}}
    visitor, expert, _ = await active_conversation(connect, alice, address="192.0.2.106")
    for n in range(2):
        await visitor.request({"type": "message.send", "text": f"m{n}", "client_id": f"m{n}"}, "message")
    for n in range(2, 4):  # refused by the address's limit, twice
        assert (await visitor.error({"type": "message.send", "text": "again", "client_id": f"m{n}"}))["code"] == "rate_limited"
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "3/minute", "address": "100/minute"}}
    # The two refusals did not count: the visitor still has the third message of their minute.
    await visitor.request({"type": "message.send", "text": "third", "client_id": "m4"}, "message")
    assert (await visitor.error({"type": "message.send", "text": "fourth", "client_id": "m5"}))["code"] == "rate_limited"


# --- sockets open at once ---------------------------------------------------------------------

async def test_open_sockets_are_capped_per_visitor(connect, brand, via_proxy, settings):
    # Guards against: one visitor holding hundreds of sockets open (a rate of opening alone does not stop it).
    settings.FLOOD_OPEN_SOCKETS = {"visitor": 2, "address": 0}
    first = await visitor_from(connect, "192.0.2.110")
    await visitor_from(connect, "192.0.2.110", token=first.token)
    error = await hello_refused(connect, "192.0.2.110", token=first.token)
    assert error["code"] == "rate_limited" and "at once" in error["detail"]
    assert (await visitor_from(connect, "192.0.2.110")).welcome["type"] == "welcome"  # another visitor, same address
    await first.close()  # a closed tab frees its place at once
    assert (await visitor_from(connect, "192.0.2.110", token=first.token)).welcome["type"] == "welcome"


async def test_open_sockets_are_capped_per_address(connect, brand, via_proxy, settings):
    settings.FLOOD_OPEN_SOCKETS = {"visitor": 0, "address": 2}
    first = await visitor_from(connect, "192.0.2.111")
    await visitor_from(connect, "192.0.2.111")  # another visitor, same address
    third = await connect.visitor(address="192.0.2.111", hello=False)
    assert (await third.recv())["code"] == "rate_limited"  # refused before hello
    assert await third.closed_with() == 4429
    assert (await visitor_from(connect, "192.0.2.112")).welcome["type"] == "welcome"
    await first.close()
    assert (await visitor_from(connect, "192.0.2.111")).welcome["type"] == "welcome"


async def test_a_live_socket_keeps_its_place_and_a_dead_process_places_go_stale(connect, brand, via_proxy, settings):
    # Guards against: places that expire under a socket still open, or that leak forever when a server process dies.
    settings.FLOOD_OPEN_SOCKETS = {"visitor": 1, "address": 0}
    settings.CHAT_VISITOR_HEARTBEAT_SECONDS = 0.1  # places are stale after 0.3 s without a heartbeat
    first = await visitor_from(connect, "192.0.2.113")
    await asyncio.sleep(0.7)  # well past the stale window: only the heartbeat keeps the first tab counted
    assert (await hello_refused(connect, "192.0.2.113", token=first.token))["code"] == "rate_limited"
    await first.close()
    # A socket of a server process that died: it never releases its place and never refreshes it.
    ghost = flood.OpenSockets("ghost-of-a-dead-process")
    await ghost.claim("visitor", first.welcome["visitor"]["id"])
    assert (await hello_refused(connect, "192.0.2.113", token=first.token))["code"] == "rate_limited"
    await asyncio.sleep(0.5)
    assert (await visitor_from(connect, "192.0.2.113", token=first.token)).welcome["type"] == "welcome"


# --- which address: never a header by default ----------------------------------------------------

async def block_the_visitor(connect, alice, visitor):
    """An expert claims the visitor's question and blocks them (the brand blocks by address too)."""
    conversation_id = await start(visitor)
    expert = await claimed(connect, alice, visitor, conversation_id)
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": "Threats", "duration_hours": 24},
                         "block.created")
    assert (await visitor.recv_type("error"))["code"] == "blocked"


async def test_a_forwarded_for_header_is_never_trusted_unless_named(connect, brand, alice, settings):
    # Guards against: a visitor escaping an address block, or framing someone else, by sending X-Forwarded-For.
    settings.CLIENT_ADDRESS_HEADER = ""
    blocked = await visitor_with_peer(connect, "192.0.2.120", forwarded_for="203.0.113.1")
    await block_the_visitor(connect, alice, blocked)
    # A fresh browser on the same address, claiming another one: still the blocked address.
    spoofer = await visitor_with_peer(connect, "192.0.2.120", forwarded_for="203.0.113.2")
    assert spoofer.welcome["code"] == "blocked"
    assert await spoofer.closed_with() == 4403
    # Someone elsewhere naming the blocked visitor's header value is not blocked.
    other = await visitor_with_peer(connect, "192.0.2.121", forwarded_for="203.0.113.1")
    assert other.welcome["type"] == "welcome"


async def test_behind_one_proxy_the_right_most_forwarded_address_counts(connect, brand, alice, via_proxy):
    # Our proxy appends what it saw; anything left of it was written by the client.
    blocked = await visitor_with_peer(connect, "10.0.0.1", forwarded_for="203.0.113.9, 198.51.100.30")
    await block_the_visitor(connect, alice, blocked)
    same_client = await visitor_with_peer(connect, "10.0.0.1", forwarded_for="203.0.113.10, 198.51.100.30")
    assert same_client.welcome["code"] == "blocked"
    assert await same_client.closed_with() == 4403
    framing = await visitor_with_peer(connect, "10.0.0.1", forwarded_for="198.51.100.30, 198.51.100.31")
    assert framing.welcome["type"] == "welcome"


async def test_with_its_storage_down_flood_control_lets_the_chat_go_on_and_says_so_once(settings, caplog, monkeypatch):
    # Guards against: a Redis outage taking the chat down with it, or passing unnoticed, or
    # a warning line per check (a storm's thousands at once).
    for warning in (flood._rates_unavailable, flood._claim_unavailable):
        monkeypatch.setattr(warning, "at", float("-inf"))  # no earlier test's line holds this one back
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"address": "1/minute"}}
    for _ in range(3):
        await flood.check("message", address_hash="somewhere")  # over the limit, yet let through
    socket = flood.OpenSockets("channel-down")
    await socket.claim("address", "somewhere")
    assert not socket.keys  # let in, uncounted
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.flood"]
    assert sum("flood limits unavailable" in line for line in lines) == 1
    assert sum("open-socket count unavailable" in line for line in lines) == 1


async def test_a_fault_of_our_own_refuses_the_action_instead_of_switching_limits_off(settings, caplog, monkeypatch):
    # Guards against: any exception (a bad FLOOD_LIMITS entry, a bug) silently turning rate limiting off.
    from chatplatform.errors import ChatError

    monkeypatch.setattr(flood._flood_fault, "at", float("-inf"))  # no earlier test's line holds this one back
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"address": "twenty a minute"}}  # unparsable
    for _ in range(3):
        with pytest.raises(ChatError) as refused:
            await flood.check("message", address_hash="somewhere")
        assert refused.value.code == "unavailable"

    async def a_bug(self, keys, caps):
        raise KeyError("a bug")

    monkeypatch.setattr(flood.OpenSockets, "_claim", a_bug)
    with pytest.raises(ChatError) as refused:
        await flood.OpenSockets("channel-bug").claim("address", "somewhere")
    assert refused.value.code == "unavailable"
    faults = [r for r in caplog.records if r.name == "moderation.flood" and "flood control failed" in r.getMessage()]
    assert len(faults) == 1 and faults[0].exc_info  # once per 10 s, with its traceback


async def test_a_fault_of_our_own_is_refused_on_the_socket_which_stays_open(connect, brand, via_proxy, settings):
    visitor = await visitor_from(connect, "192.0.2.130")
    await start(visitor)
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"visitor": "x/y"}}
    error = await visitor.error({"type": "message.send", "text": "hello", "client_id": "b"})
    assert error["code"] == "unavailable" and error["ref"] == "b"
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"


# --- IPv6: a client is its /64 ---------------------------------------------------------------------

async def test_an_ipv6_visitor_blocked_cannot_come_back_from_the_next_address_of_the_same_64(connect, brand, alice, via_proxy):
    # Guards against: a phone behind the documented proxy set-up leaving an address block by rotating
    # its address inside its /64 (privacy extensions do it on their own).
    blocked = await visitor_from(connect, "2001:db8:aa:bb::10")
    await block_the_visitor(connect, alice, blocked)
    rotated = await connect.visitor(address="2001:db8:aa:bb:1234:5678:9abc:def0", hello=False)
    await rotated.send({"type": "hello", "token": None})  # a fresh browser: a new token, the next address
    assert (await rotated.recv())["code"] == "blocked"
    assert await rotated.closed_with() == 4403
    next_network = await visitor_from(connect, "2001:db8:aa:bc::10")  # another /64: another client
    assert next_network.welcome["type"] == "welcome"


async def test_ipv6_flood_limits_and_open_socket_caps_count_the_whole_64(connect, brand, via_proxy, settings):
    settings.FLOOD_OPEN_SOCKETS = {"visitor": 0, "address": 2}
    await visitor_from(connect, "2001:db8:cc:dd::1")
    await visitor_from(connect, "2001:db8:cc:dd::2")
    third = await connect.visitor(address="2001:db8:cc:dd::3", hello=False)
    assert (await third.recv())["code"] == "rate_limited"
    assert await third.closed_with() == 4429
    settings.FLOOD_OPEN_SOCKETS = {"visitor": 0, "address": 0}
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "new_visitor": {"address": "1/minute"}}
    await visitor_from(connect, "2001:db8:ee:ff::1")
    error = await hello_refused(connect, "2001:db8:ee:ff:ffff::2")
    assert error["code"] == "rate_limited"
    assert (await visitor_from(connect, "2001:db8:ee:f0::1")).welcome["type"] == "welcome"


def test_an_address_scope_is_the_ipv6_network_and_the_single_ipv4_address(settings):
    from visitors.tokens import address_scope, hash_address

    assert address_scope("2001:DB8:0:1:2:3:4:5") == "2001:db8:0:1::/64"
    assert address_scope("192.0.2.7") == "192.0.2.7"
    assert address_scope("::ffff:192.0.2.7") == "192.0.2.7"  # IPv4 written as IPv6 stays one address
    assert hash_address("2001:db8::1") == hash_address("2001:db8::ffff") != hash_address("2001:db8:0:1::1")
    assert hash_address("192.0.2.7") != hash_address("192.0.2.8")
    settings.CHAT_IPV6_PREFIX = 128
    assert hash_address("2001:db8::1") != hash_address("2001:db8::2")
    settings.CHAT_IPV6_PREFIX = 56
    assert address_scope("2001:db8:0:1ff::1") == "2001:db8:0:100::/56"


# --- every frame that costs a write, a push or a large answer ---------------------------------------

# Frame types that cost nothing to answer, or can happen once: no limit of their own.
UNCOUNTED = {"hello", "ping", "data.erase"}


def test_every_frame_type_of_every_socket_counts_against_a_limit():
    # Guards against: a frame type (today's or one added later) that amplifies load without a limit,
    # as `sync` (~6,000 bytes out per byte in), `typing` and `conversation.rate` did.
    from django.conf import settings

    from experts.consumers import ExpertConsumer
    from moderation.consumers import ModerationConsumer
    from visitors.consumers import VisitorConsumer

    for consumer in (VisitorConsumer, ExpertConsumer, ModerationConsumer):
        for frame_type in set(consumer.frames) - UNCOUNTED:
            action = consumer.frame_limits.get(frame_type)
            assert action, f"{consumer.__name__}: `{frame_type}` counts against no limit"
            assert any(settings.FLOOD_LIMITS[action].values()), f"{action}: no rate set"


async def test_sync_is_rate_limited_and_the_socket_stays_open(connect, brand, alice, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "sync": {"visitor": "2/minute", "address": "100/minute"}}
    visitor, _, conversation_id = await active_conversation(connect, alice, address="192.0.2.140")
    for _ in range(2):
        assert (await visitor.request({"type": "sync", "after_seq": 0}, "messages"))["conversation"] == conversation_id
    assert (await visitor.error({"type": "sync", "after_seq": 0}))["code"] == "rate_limited"
    assert (await visitor.request({"type": "ping"}, "pong"))["type"] == "pong"


async def test_typing_is_rate_limited_and_refused_typing_reaches_nobody(connect, brand, alice, via_proxy, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "typing": {"visitor": "2/minute", "address": "100/minute"},
                             "expert_typing": {"user": "1/minute"}}
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.141")
    for _ in range(2):
        await visitor.send({"type": "typing", "active": True})
    await visitor.send({"type": "typing", "active": True})
    assert (await visitor.recv_type("error"))["code"] == "rate_limited"
    seen = [f for f in await expert.drain(0.3) if f["type"] == "typing"]
    assert len(seen) == 2
    await expert.send({"type": "typing", "conversation": conversation_id, "active": True})
    assert (await expert.error({"type": "typing", "conversation": conversation_id, "active": False}))["code"] == "rate_limited"
    assert len([f for f in await visitor.drain(0.3) if f["type"] == "typing"]) == 1


async def test_a_rating_is_given_once_and_changed_a_few_times_at_most(connect, brand, alice, via_proxy, settings):
    # Guards against: 60 ratings in a row, each a write and a push to the expert.
    from visitors.models import Conversation

    settings.CHAT_RATING_CHANGES = 2
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.142")
    await visitor.request({"type": "conversation.end"}, "conversation")
    await expert.recv_type("conversation")
    rated = await visitor.request({"type": "conversation.rate", "score": 4}, "conversation")
    assert rated["conversation"]["rating"]["score"] == 4
    assert (await expert.recv_type("conversation"))["conversation"]["rating"]["score"] == 4
    again = await visitor.request({"type": "conversation.rate", "score": 4}, "conversation")  # the same: answered, no push
    assert again["conversation"]["rating"]["score"] == 4
    assert not [f for f in await expert.drain(0.3) if f["type"] == "conversation"]
    for score in (5, 3):  # two changes
        await visitor.request({"type": "conversation.rate", "score": score}, "conversation")
    error = await visitor.error({"type": "conversation.rate", "score": 1, "comment": "changed my mind"})
    assert error["code"] == "rate_limited"
    stored = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    assert (stored.rating_score, stored.rating_comment, stored.rating_changes) == (3, "", 2)


async def test_expert_frames_are_rate_limited_per_user_and_the_socket_stays_open(connect, brand, alice, via_proxy, settings):
    from visitors.models import Message

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "expert_message": {"user": "2/minute"}, "expert_sync": {"user": "1/minute"}}
    visitor, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.143")
    for n in range(2):
        await expert.request({"type": "message.send", "conversation": conversation_id, "text": f"m{n}", "client_id": f"e{n}"}, "message")
    error = await expert.error({"type": "message.send", "conversation": conversation_id, "text": "m2", "client_id": "e2"})
    assert error["code"] == "rate_limited" and error["ref"] == "e2"
    assert not await database_sync_to_async(Message.objects.filter(client_id="e2").exists)()
    await expert.request({"type": "sync", "conversation": conversation_id, "after_seq": 0}, "messages")
    assert (await expert.error({"type": "sync", "conversation": conversation_id, "after_seq": 0}))["code"] == "rate_limited"
    assert (await expert.request({"type": "ping"}, "pong"))["type"] == "pong"


async def test_alert_acks_are_rate_limited_per_manager(connect, brand, alice, manager, via_proxy, settings):
    from tests.moderation.sockets import moderation_feed

    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "alert_ack": {"user": "1/minute"}}
    feed = await moderation_feed(connect, manager)
    _, expert, conversation_id = await active_conversation(connect, alice, address="192.0.2.144")
    raised = await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "Insults"}, "alert.raised")
    await feed.request({"type": "alert.ack", "alert": raised["alert"]["id"]}, "alert.updated")
    assert (await feed.error({"type": "alert.ack", "alert": raised["alert"]["id"]}))["code"] == "rate_limited"
    assert (await feed.request({"type": "ping"}, "pong"))["type"] == "pong"


async def test_a_flood_of_refused_frames_is_noted_once_per_socket(connect, brand, alice, via_proxy, settings, monkeypatch):
    # Guards against: every refused frame costing a database read to decide whether to alert the managers.
    from moderation import services as moderation_services

    noted = []
    original = moderation_services.note_flooding
    monkeypatch.setattr(moderation_services, "note_flooding", lambda **kw: noted.append(1) or original(**kw))
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "typing": {"visitor": "1/minute"}}
    visitor, _, _ = await active_conversation(connect, alice, address="192.0.2.145")
    await visitor.send({"type": "typing", "active": True})
    for _ in range(5):
        assert (await visitor.error({"type": "typing", "active": True}))["code"] == "rate_limited"
    assert len(noted) == 1


@pytest.mark.parametrize("error", ["ConnectionError", "TimeoutError", "ReadOnlyError", "OSError"])
async def test_only_storage_errors_let_an_action_through(settings, monkeypatch, error):
    import redis.exceptions

    exc = OSError("network down") if error == "OSError" else getattr(redis.exceptions, error)("storage")

    async def storage_fails(*args):
        raise exc

    monkeypatch.setattr(flood, "_hit_in_redis", storage_fails)
    monkeypatch.setattr(flood, "_hit_in_memory", storage_fails)
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "message": {"address": "1/minute"}}
    await flood.check("message", address_hash="anywhere")  # let through, not refused


async def test_open_socket_refresh_and_release_ride_out_a_storage_outage_but_not_a_bug(settings, caplog, monkeypatch):
    # Guards against: a catch-all hiding a bug of ours in the heartbeat's refresh or the close's release.
    for warning in (flood._refresh_unavailable, flood._release_unavailable):
        monkeypatch.setattr(warning, "at", float("-inf"))
    socket = flood.OpenSockets("channel-outage")
    socket.keys = {"address": flood.OpenSockets._key("address", "somewhere")}
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    await socket.refresh()
    await socket.release()
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.flood"]
    assert any("refresh skipped" in line for line in lines) and any("release skipped" in line for line in lines)

    async def a_bug(self, keys, caps):
        raise KeyError("a bug")

    monkeypatch.setattr(flood.OpenSockets, "_claim", a_bug)
    socket.keys = {"address": flood.OpenSockets._key("address", "somewhere")}
    with pytest.raises(KeyError):
        await socket.refresh()
