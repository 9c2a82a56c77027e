"""Stored text renders as inert text in the community managers' admin pages."""

import io

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils.html import escape

from tests.support import client_id

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = '<script>alert("xss")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + ATTRIBUTE
IMG = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(1)</script>"


@pytest.fixture
def manager_client(db, django_user_model):
    from django.test import Client

    call_command("create_community_manager", "carol", password="pw-carol-123", stdout=io.StringIO())
    from tests.support import pass_two_factor

    client = Client()
    assert client.login(username="carol", password="pw-carol-123")
    pass_two_factor(client, django_user_model.objects.get(username="carol"))
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
    # The report's text and the alert's note are on their own pages, escaped.
    report_page = next(body for url, body in bodies.items() if "/reportticket/" in url)
    alert_pages = [body for url, body in bodies.items() if "/alert/" in url and url.endswith("/change/")]
    assert escape(PAYLOAD) in report_page
    assert any(escape(PAYLOAD) in body for body in alert_pages)
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


@pytest.mark.parametrize("display_name,bio", [(IMG, BREAKOUT + IMG), (BREAKOUT, IMG + BREAKOUT)])
async def test_a_hostile_expert_profile_is_plain_text_on_every_page_and_in_frames(connect, brand, alice, display_name, bio):
    # Guards against: stored XSS through an expert's display name or bio (dashboard, profile, community panel, visitors' widget).
    from django.test import Client

    from experts import services

    def edit_profile_and_fetch_pages():
        client = Client()
        client.force_login(alice.user)
        saved = client.post("/dashboard/profile/", {"display_name": display_name, "bio": bio, "avatar_url": ""})
        assert saved.status_code == 302, saved.content[:2000]
        post = services.create_community_post(author=alice, title="Lacing " + display_name, body="Try " + bio)
        post_page = f"/community/{post.pk}/"
        return post_page, {path: client.get(path).content.decode()
                           for path in ("/dashboard/", "/dashboard/profile/", "/community/", post_page)}

    post_page, bodies = await database_sync_to_async(edit_profile_and_fetch_pages)()
    for path, body in bodies.items():
        for payload in (IMG, BREAKOUT):
            assert payload not in body, path
        assert escape(display_name) in body, path  # shown, as text
    assert escape(bio) in bodies["/dashboard/profile/"]  # the bio's textarea
    assert escape("Try " + bio) in bodies[post_page]

    # In frames the same text travels as a plain JSON string, for the client to set as text.
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": "hi", "client_id": client_id()})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    expert = await connect.expert(alice)
    assert expert.welcome["expert"]["display_name"] == display_name
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    shown = (await visitor.recv_type("conversation"))["conversation"]["expert"]
    # Exactly the text, not HTML-escaped on the way: escaping is the renderer's job (the widget sets textContent).
    assert (shown["display_name"], shown["bio"]) == (display_name, bio)
