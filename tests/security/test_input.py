"""Input no database or reader can use: refused with a clear error, never a 500, and nothing stored."""

import pytest
from channels.db import database_sync_to_async

from tests.moderation.sockets import active_conversation

pytestmark = pytest.mark.django_db(transaction=True)

# Each shows nothing on a screen: zero-width space, joiners, word joiner, BOM; Hangul filler;
# a bidi override; a combining mark alone; a soft hyphen; the braille blank; a no-break space.
INVISIBLE_TEXTS = ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u3164\u3164", "\u202e", "\u034f\u0301", "\u00ad", "\u2800", "\u00a0\u200b "]


@pytest.mark.parametrize("text", INVISIBLE_TEXTS)
async def test_a_message_of_only_invisible_characters_is_refused_as_blank(connect, brand, alice, text):
    # Guards against: a "blank" message slipping past the blank check in zero-width clothing.
    from visitors.models import Message

    visitor, expert, conversation_id = await active_conversation(connect, alice)
    error = await visitor.error({"type": "message.send", "text": text, "client_id": "invisible"})
    assert error["code"] == "invalid_field" and "text" in error["detail"]
    error = await expert.error({"type": "message.send", "conversation": conversation_id, "text": text, "client_id": "x"})
    assert error["code"] == "invalid_field"
    assert not await database_sync_to_async(Message.objects.filter(client_id__in=["invisible", "x"]).exists)()
    error = await visitor.error({"type": "conversation.start", "text": text, "client_id": "start"})
    assert error["code"] == "invalid_field"


async def test_visible_text_with_invisible_characters_in_it_is_kept_as_sent(connect, brand, alice):
    visitor, _, _ = await active_conversation(connect, alice)
    text = "ok\u200d👍 e\u0301"
    message = await visitor.request({"type": "message.send", "text": text, "client_id": "seen"}, "message")
    assert message["message"]["text"] == text


async def test_an_invisible_nickname_is_no_nickname(connect, brand):
    visitor = await connect.visitor(nickname="\u200b\u3164")
    assert visitor.welcome["visitor"]["nickname"] is None


# --- HTTP: a NUL anywhere in what a page reads --------------------------------------------------

# What PostgreSQL cannot store or compare: a NUL. Each reached a query (HTTP 500 on PostgreSQL).
NUL_PAGES = [
    ("get", "/community/", {"q": "\x00"}),
    ("get", "/dashboard/past/", {"q": "a\x00b"}),
    ("get", "/admin/visitors/brand/", {"q": "\x00"}),
    ("get", "/admin/experts/communitypost/", {"q": "\x00"}),
    ("get", "/admin/moderation/reportticket/", {"q": "R-\x00"}),
    ("get", "/admin/moderation/reportticket/", {"status__exact": "\x00"}),
    ("get", "/admin/moderation/alert/", {"kind__exact": "\x00"}),
    ("get", "/admin/moderation/moderationevent/", {"action__exact": "\x00"}),
    ("get", "/admin/moderation/conversation/", {"status__exact": "\x00"}),
    ("get", "/admin/moderation/block/", {"brand__id__exact": "\x00"}),
    ("get", "/admin/visitors/brand/\x00/change/", {}),
    ("get", "/community/", {"\x00": "1"}),
    ("post", "/community/new/", {"title": "\x00", "body": "hello\x00"}),
    ("post", "/login/", {"username": "carol\x00", "password": "x"}),
]


@pytest.fixture
def superuser_client(db, django_user_model, alice):
    from django.test import Client

    from tests.support import sign_in

    user = alice.user
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    sign_in(client, user)
    return client


@pytest.mark.parametrize("method,path,data", NUL_PAGES, ids=[f"{m} {p} {sorted(d)}" for m, p, d in NUL_PAGES])
def test_a_nul_in_a_path_or_a_parameter_is_a_400_on_every_page(superuser_client, method, path, data):
    # Guards against: HTTP 500 (PostgreSQL refuses a NUL in a string) from a search box or a filter.
    from experts.models import CommunityPost

    posts = CommunityPost.objects.count()
    response = getattr(superuser_client, method)(path, data)
    assert response.status_code == 400
    assert b"Traceback" not in response.content
    assert CommunityPost.objects.count() == posts  # nothing stored


def test_a_nul_in_a_cookie_is_ignored(client, alice):
    client.cookies["sessionid"] = "abc\x00def"
    client.cookies["csrftoken"] = "\x00"
    response = client.get("/login/")
    assert response.status_code == 200


def test_pages_without_a_nul_are_served_as_before(superuser_client):
    assert superuser_client.get("/community/", {"q": "hello"}).status_code == 200
    assert superuser_client.get("/admin/moderation/reportticket/", {"q": "R-1"}).status_code == 200


@pytest.mark.parametrize("path", ["/ws/v1/expert/", "/ws/v1/moderation/"])
async def test_a_session_cookie_holding_a_nul_signs_nobody_in_on_a_socket(path):
    # Guards against: the socket's session read sending the NUL to PostgreSQL (a traceback, close 1011).
    from channels.testing import WebsocketCommunicator

    from tests.support import OWN_HOST, OWN_ORIGIN, TIMEOUT, Socket, application

    headers = [(b"host", OWN_HOST), (b"origin", OWN_ORIGIN), (b"cookie", b"sessionid=abcdefgh\x00ijklmnop")]
    communicator = WebsocketCommunicator(application(), path, headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert await Socket(communicator).closed_with() == 4401


def test_pages_refuse_a_post_a_reply_or_a_name_of_only_invisible_characters(client, alice):
    # Guards against: the same "blank in zero-width clothing" on the expert pages' forms.
    from experts.models import CommunityPost, ExpertProfile

    client.force_login(alice.user)
    response = client.post("/community/new/", {"title": "\u200b\u200b", "body": "A real question"})
    assert response.status_code == 200 and b"This field is required" in response.content
    response = client.post("/community/new/", {"title": "Shoes", "body": "\u3164\u200d"})
    assert response.status_code == 200 and not CommunityPost.objects.exists()
    response = client.post("/community/new/", {"title": "Shoes", "body": "Half a size up"})
    post = CommunityPost.objects.get()
    assert response.status_code == 302
    response = client.post(f"/community/{post.pk}/", {"body": "\u2060"})
    assert response.status_code == 200 and post.replies.count() == 0
    client.post("/dashboard/profile/", {"display_name": "\u200b", "bio": ""})
    assert ExpertProfile.objects.get(pk=alice.pk).display_name == "Alice"
