"""Stored text renders as inert text in the community managers' admin pages."""

import io

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = '<script>alert("xss")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + ATTRIBUTE


@pytest.fixture
def manager_client(db, django_user_model):
    from django.test import Client

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    client = Client()
    assert client.login(username="carol", password="pw-carol-123")
    return client


async def hostile_records(connect, brand, make_expert):
    from experts.models import ExpertProfile

    expert_profile = await database_sync_to_async(make_expert)("mallory", brands=[brand], display_name=PAYLOAD[:60])

    def hostile_profile():
        # The admin form would refuse the javascript: URL; stored anyway, as by an older version or a bug.
        ExpertProfile.objects.filter(pk=expert_profile.pk).update(bio=PAYLOAD, avatar_url="javascript:alert(1)")

    await database_sync_to_async(hostile_profile)()
    visitor = await connect.visitor(nickname=PAYLOAD[:40])
    await visitor.send({"type": "conversation.start", "text": PAYLOAD, "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(expert_profile)
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await expert.request({"type": "message.send", "conversation": conversation_id, "text": PAYLOAD, "client_id": "e"}, "message")
    await visitor.request({"type": "report.file", "category": "other", "description": PAYLOAD, "conversation": conversation_id,
                           "email": "a@b.test"}, "report.filed")
    await expert.request({"type": "moderation.warn", "conversation": conversation_id, "text": PAYLOAD}, "message")
    await expert.request({"type": "moderation.alert", "conversation": conversation_id, "note": PAYLOAD}, "alert.raised")
    await expert.request({"type": "moderation.block", "conversation": conversation_id, "reason": PAYLOAD, "duration_hours": 2},
                         "block.created")
    return conversation_id, expert_profile


def pages(conversation_id, expert_profile):
    from moderation.models import Alert, Block, ReportTicket

    report = ReportTicket.objects.get()
    return [
        f"/admin/visitors/conversation/{conversation_id}/change/",
        f"/admin/moderation/reportticket/{report.pk}/change/",
        *(f"/admin/moderation/alert/{alert.pk}/change/" for alert in Alert.objects.all()),
        f"/admin/moderation/block/{Block.objects.get().pk}/change/",
        f"/admin/experts/expertprofile/{expert_profile.pk}/change/",
        "/admin/moderation/overview/",
        "/admin/moderation/alert/",
        "/admin/moderation/block/",
        "/admin/visitors/conversation/",
        "/admin/visitors/visitor/",
        "/admin/experts/expertprofile/",
        "/admin/moderation/moderationevent/",
    ]


async def test_script_payloads_render_as_inert_text_in_the_admin(connect, brand, make_expert, manager_client):
    # Guards against: stored XSS in the moderators' admin (visitor or expert text rendered as HTML).
    conversation_id, expert_profile = await hostile_records(connect, brand, make_expert)

    def fetch_all():
        bodies = {}
        for url in pages(conversation_id, expert_profile):
            response = manager_client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            bodies[url] = response.content.decode()
        return bodies

    bodies = await database_sync_to_async(fetch_all)()
    seen_escaped = 0
    for url, body in bodies.items():
        assert "<script>alert(" not in body, url
        assert "<img src=x onerror" not in body, url
        assert 'href="javascript:' not in body.replace("'", '"'), url
        seen_escaped += "&lt;script&gt;alert(" in body
    # The payloads are there, escaped: the pages do show the hostile text (the check is not vacuous).
    assert seen_escaped >= 6, seen_escaped


async def test_only_web_urls_travel_as_avatar_urls(connect, brand, make_expert):
    # Guards against: stored XSS through URL fields (a javascript: avatar URL reaching a client's href/src).
    conversation_id, expert_profile = await hostile_records(connect, brand, make_expert)
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "hi", "client_id": client_id()})
    waiting = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(expert_profile)
    claimed = await expert.request({"type": "conversation.claim", "conversation": waiting}, "conversation")
    assert claimed["conversation"]["expert"]["avatar_url"] is None
    assert claimed["conversation"]["expert"]["bio"] == PAYLOAD  # text travels as text; clients render it as text
