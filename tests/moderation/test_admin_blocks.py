"""A community manager blocks a visitor from the admin: the same effect as an expert's block.

Signed in with only the "Community managers" group's permissions (moderation/permissions.py).
"""

import pytest
from channels.db import database_sync_to_async

from moderation import services
from moderation.models import Alert, Block, ModerationEvent, ReportTicket
from tests.moderation.sockets import active_conversation, moderation_feed, start, visitor_from
from visitors.models import Conversation, Visitor
from tests.support import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELISTS = {
    "conversation": "/admin/visitors/conversation/",
    "visitor": "/admin/visitors/visitor/",
    "alert": "/admin/moderation/alert/",
    "reportticket": "/admin/moderation/reportticket/",
}


def block_action(client, model, pks, **form):
    data = {"action": "block_visitors", "_selected_action": [str(pk) for pk in pks], "apply": "1",
            "reason": "Repeated insults", "length": "24", "by_address": "on", **form}
    if data["by_address"] is None:  # the box left unticked
        data.pop("by_address")
    return client.post(CHANGELISTS[model], data, follow=True)


@pytest.fixture
def manager_client(client, manager):
    sign_in(client, manager)
    return client


async def test_blocking_from_a_conversation_closes_the_visitors_socket_ends_it_and_is_audited(connect, manager, manager_client, alice, via_proxy):
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    feed = await moderation_feed(connect, manager)
    page = await database_sync_to_async(manager_client.get)(CHANGELISTS["conversation"])
    assert "Block the visitor" in page.content.decode()  # offered to the group's permissions

    response = await database_sync_to_async(block_action)(manager_client, "conversation", [conversation_id])
    assert "Blocked 1 visitor(s)" in response.content.decode()

    error = await visitor.recv_type("error")
    assert error["code"] == "blocked"
    assert await visitor.closed_with() == 4403
    block = (await feed.recv_type("block.created"))["block"]
    assert block["created_by"] == "carol" and block["reason"] == "Repeated insults" and block["by_address"] is True
    conversation = await database_sync_to_async(Conversation.objects.get)(pk=conversation_id)
    assert conversation.status == "ended" and conversation.ended_by == "moderator"
    event = await database_sync_to_async(ModerationEvent.objects.filter(action="block").get)()
    assert event.actor_kind == "manager" and event.user_id == manager.pk and event.details["duration_hours"] == 24
    # Back with the same token: refused at hello.
    again = await connect.visitor(token=visitor.token, address="198.51.100.7", hello=False)
    await again.send({"type": "hello", "token": visitor.token})
    assert (await again.recv())["code"] == "blocked"


async def test_blocking_from_an_alert_closes_the_alert(connect, manager, manager_client, alice, via_proxy):
    visitor, expert, conversation_id = await active_conversation(connect, alice)
    await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": "Threats"}, "alert.raised")
    alert = await database_sync_to_async(Alert.objects.get)()
    await database_sync_to_async(block_action)(manager_client, "alert", [alert.pk], length="until")
    assert (await visitor.recv_type("error"))["code"] == "blocked"
    await database_sync_to_async(alert.refresh_from_db)()
    assert alert.status == "closed" and alert.acknowledged_by_id == manager.pk
    block = await database_sync_to_async(Block.objects.get)()
    assert block.expires_at is None and block.created_by_user_id == manager.pk


async def test_blocking_from_a_report_ticket_and_from_a_flooding_alert(connect, manager, manager_client, brand, via_proxy):
    visitor = await visitor_from(connect, "198.51.100.20")
    await visitor.send({"type": "report.file", "category": "advertising", "description": "Spam links"})
    await visitor.recv_type("report.filed")
    report = await database_sync_to_async(ReportTicket.objects.get)()
    await database_sync_to_async(block_action)(manager_client, "reportticket", [report.pk], length="168")
    assert (await visitor.recv_type("error"))["code"] == "blocked"

    flooder = await visitor_from(connect, "198.51.100.21")
    row = await database_sync_to_async(Visitor.objects.get)(pk=flooder.welcome["visitor"]["id"])
    flood = await database_sync_to_async(services.note_flooding)(visitor=row)
    await database_sync_to_async(block_action)(manager_client, "alert", [flood.pk], length="1")
    assert (await flooder.recv_type("error"))["code"] == "blocked"
    assert await database_sync_to_async(Block.objects.filter(visitor=row).exists)()


async def test_blocking_a_visitor_by_address_covers_their_ipv6_64_as_an_experts_block_does(connect, manager, manager_client, brand, via_proxy):
    first = await visitor_from(connect, "2001:db8:aa:bb::10")
    await database_sync_to_async(block_action)(manager_client, "visitor", [first.welcome["visitor"]["id"]])
    assert (await first.recv_type("error"))["code"] == "blocked"
    rotated = await connect.visitor(address="2001:db8:aa:bb:1234:5678:9abc:def0", hello=False)
    await rotated.send({"type": "hello", "token": None})  # a fresh browser on the next address of the /64
    assert (await rotated.recv())["code"] == "blocked"
    assert await rotated.closed_with() == 4403
    assert (await visitor_from(connect, "2001:db8:aa:bc::10")).welcome["type"] == "welcome"  # another /64


async def test_a_block_not_by_address_lets_a_fresh_browser_on_that_address_in(connect, manager, manager_client, brand, via_proxy):
    first = await visitor_from(connect, "198.51.100.30")
    await database_sync_to_async(block_action)(manager_client, "visitor", [first.welcome["visitor"]["id"]], by_address=None)
    assert (await first.recv_type("error"))["code"] == "blocked"
    assert (await visitor_from(connect, "198.51.100.30")).welcome["type"] == "welcome"
    assert (await database_sync_to_async(Block.objects.get)()).address_hash == ""


def test_bad_block_input_is_refused_and_blocks_nobody(manager_client, brand, settings):
    from visitors import services as visitor_services

    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hi", client_id="c1")
    page = block_action(manager_client, "visitor", [visitor.pk], reason="   ").content.decode()
    assert "This field is required." in page
    page = block_action(manager_client, "visitor", [visitor.pk], length="other").content.decode()
    assert "Give the number of hours." in page
    page = block_action(manager_client, "visitor", [visitor.pk], length="other", hours=str(settings.MAX_BLOCK_HOURS + 1)).content.decode()
    assert "MAX_BLOCK_HOURS" in page
    page = block_action(manager_client, "visitor", [visitor.pk], length="forever").content.decode()
    assert "Select a valid choice" in page
    assert not Block.objects.exists() and not ModerationEvent.objects.filter(action="block").exists()
    conversation.refresh_from_db()
    assert conversation.status == "waiting"


def test_a_user_without_the_block_permission_is_not_offered_the_action(client, manager, brand, django_user_model):
    from django.contrib.auth.models import Permission

    from visitors import services as visitor_services

    viewer = django_user_model.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_visitor", "view_conversation"]))
    visitor, _ = visitor_services.open_visitor_session(brand=brand, token=None, nickname="Sam", address_hash="")
    sign_in(client, viewer)
    assert "Block the visitor" not in client.get(CHANGELISTS["visitor"]).content.decode()
    block_action(client, "visitor", [visitor.pk])
    assert not Block.objects.exists()
