"""POST /attachments/ and GET /attachments/<id>/: who may upload, what is refused, who may see."""

import io
import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from PIL import Image

from tests.attachments import pictures
from tests.attachments.conftest import post_picture, stored_bytes
from tests.support import sign_in

pytestmark = pytest.mark.django_db


def test_a_visitor_uploads_a_photo_and_its_gps_is_gone(visitor_upload, chat):
    response = visitor_upload(pictures.photo("JPEG", size=(120, 80)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "thumbnail_url", "width", "height", "content_type", "size"}
    assert (body["width"], body["height"], body["content_type"]) == (120, 80, "image/jpeg")
    stored = stored_bytes(body["id"])
    assert len(stored) == body["size"]
    reopened = Image.open(io.BytesIO(stored))
    assert not reopened.getexif().get_ifd(0x8825) and pictures.CAMERA.encode() not in stored
    # The URLs it answered open the picture for anyone holding them (the widget's <img> sends no token).
    picture = Client().get(body["url"])
    assert picture.status_code == 200 and b"".join(picture.streaming_content) == stored
    thumbnail = Client().get(body["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"


def test_a_downloaded_picture_cannot_run_or_be_sniffed(visitor_upload):
    body = visitor_upload().json()
    response = Client().get(body["url"])
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="picture.jpg"'
    assert "sandbox" in response["Content-Security-Policy"] and "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("data, name, content_type", [
    (pictures.SVG_WITH_SCRIPT, "cat.svg", "image/svg+xml"),
    (pictures.HTML, "cat.jpg", "image/jpeg"),
    (pictures.HTML, "cat.html", "text/html"),
    (pictures.PDF, "cat.pdf", "application/pdf"),
])
def test_anything_but_a_picture_is_refused_and_nothing_is_kept(visitor_upload, data, name, content_type):
    from visitors.models import Attachment

    response = visitor_upload(data, name=name, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_type"
    assert not Attachment.objects.exists()


def test_a_png_bomb_is_refused_with_413(visitor_upload):
    response = visitor_upload(pictures.png_bomb(), name="bomb.png", content_type="image/png")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@override_settings(CHAT_ATTACHMENT_MAX_BYTES=20_000)
def test_an_oversized_file_is_refused_with_413(visitor_upload):
    from visitors.models import Attachment

    big = pictures.photo("PNG", size=(400, 400), gps=False) + b"\x00" * 30_000
    assert len(big) > 20_000
    response = visitor_upload(big, name="big.png", content_type="image/png")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not Attachment.objects.exists()


class _Upstream:
    """The application behind the limit: records whether it was reached and what body it read."""

    def __init__(self):
        self.body = None

    async def __call__(self, scope, receive, send):
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.body = b"".join(parts)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _through_limit(headers, chunks):
    from chatplatform.upload_limit import UploadSizeLimit

    upstream, sent, pulled = _Upstream(), [], []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        pulled.append(1)
        return queue.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/attachments/", "headers": headers}
    await UploadSizeLimit(upstream)(scope, receive, send)
    return upstream, sent, len(pulled)


MULTIPART = (b"content-type", b"multipart/form-data; boundary=----x")


@override_settings(CHAT_ATTACHMENT_MAX_BYTES=20_000)
async def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_received():
    upstream, sent, pulled = await _through_limit([MULTIPART, (b"content-length", b"999999999")], [b"x" * 100] * 5)
    assert pulled == 0 and upstream.body is None
    assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["code"] == "too_large"


@override_settings(CHAT_ATTACHMENT_MAX_BYTES=20_000)
async def test_a_body_without_a_length_is_refused_once_it_passes_the_limit():
    upstream, sent, pulled = await _through_limit([MULTIPART], [b"x" * 10_000] * 10)
    assert upstream.body is None and sent[0]["status"] == 413
    assert pulled == 4  # 40 KB read of the 100 KB sent: it stopped past 20 KB plus the multipart slack


@override_settings(CHAT_ATTACHMENT_MAX_BYTES=20_000)
async def test_a_body_within_the_limit_reaches_django_whole():
    upstream, sent, _ = await _through_limit([MULTIPART, (b"content-length", b"15000")], [b"a" * 5000, b"b" * 10_000])
    assert upstream.body == b"a" * 5000 + b"b" * 10_000 and sent[0]["status"] == 201


@pytest.mark.parametrize("content_type", [b"application/json", b"multipart/form-data", b"text/plain; boundary=x"])
async def test_a_body_that_is_not_multipart_is_a_json_400_before_it_is_read(content_type):
    upstream, sent, pulled = await _through_limit([(b"content-type", content_type)], [b"{}"])
    assert pulled == 0 and upstream.body is None
    assert sent[0]["status"] == 400 and json.loads(sent[1]["body"])["code"] == "invalid_frame"


def test_another_visitors_conversation_is_forbidden(visitor_upload, chat, brand):
    from visitors.models import Conversation, Visitor

    stranger = Visitor.objects.create(brand=brand, token_hash="f" * 64)
    theirs = Conversation.objects.create(brand=brand, visitor=stranger)
    for conversation in (theirs, "6f1c1d52-8a8f-4a53-9e0e-000000000000", "not-a-uuid"):
        response = visitor_upload(conversation=conversation)
        assert response.status_code == 403 and response.json()["code"] == "forbidden", conversation


def test_a_wrong_token_or_origin_is_forbidden(visitor_upload):
    assert visitor_upload(token="guessed").status_code == 403
    assert visitor_upload(origin="https://evil.test").status_code == 403
    assert visitor_upload(origin=None).status_code == 403
    assert visitor_upload(origin="http://testserver").status_code == 201  # the widget's own page


def test_a_blocked_visitor_is_forbidden(visitor_upload, chat, brand):
    from moderation.models import Block
    from visitors.models import Attachment

    Block.objects.create(brand=brand, visitor=chat.visitor, reason="spam", expires_at=timezone.now() + timedelta(hours=1))
    response = visitor_upload()
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert not Attachment.objects.exists()


def test_an_ended_conversation_takes_no_picture(visitor_upload, chat):
    chat.conversation.status = "ended"
    chat.conversation.save()
    response = visitor_upload()
    assert response.status_code == 409 and response.json()["code"] == "ended"


def test_uploads_count_in_flood_control(visitor_upload, settings):
    settings.FLOOD_LIMITS = {**settings.FLOOD_LIMITS, "upload": {"visitor": "2/minute"}}
    assert [visitor_upload().status_code for _ in range(3)] == [201, 201, 429]
    assert visitor_upload().json()["code"] == "rate_limited"


def test_only_post_uploads():
    response = Client().get("/attachments/")
    assert response.status_code == 405


def test_a_malformed_body_is_a_clear_error(chat):
    response = Client().post("/attachments/", {"conversation": str(chat.conversation.pk)},
                             HTTP_X_VISITOR_TOKEN=chat.token, HTTP_ORIGIN="https://shop.acme.test")
    assert response.status_code == 400 and response.json()["code"] == "invalid_frame"


# --- the expert's way: session and CSRF -----------------------------------------------------

def test_the_assigned_expert_uploads_with_session_and_csrf(expert_client, chat):
    refused = post_picture(expert_client, chat.conversation, pictures.photo(), origin=None)
    assert refused.status_code == 403  # no CSRF token
    response = post_picture(expert_client, chat.conversation, pictures.photo(), origin=None,
                            HTTP_X_CSRFTOKEN=expert_client.csrf)
    assert response.status_code == 201, response.content


def test_an_expert_not_assigned_is_forbidden(make_expert, brand, chat):
    bob = make_expert("bob", brands=[brand])
    client = Client()
    sign_in(client, bob.user)
    response = post_picture(client, chat.conversation, pictures.photo(), origin=None)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


# --- who may see it --------------------------------------------------------------------------

def _bare(url: str) -> str:
    return url.split("?", 1)[0]


def test_without_a_signature_only_the_expert_and_managers_see_it(visitor_upload, chat, make_expert, brand, other_brand,
                                                                  django_user_model):
    from django.core.management import call_command

    body = visitor_upload().json()
    assert Client().get(_bare(body["url"])).status_code == 403  # a stranger
    assert Client().get(body["url"].replace("signature=", "signature=0")).status_code == 403  # a forged signature
    thumbnail_signature = body["thumbnail_url"].split("?", 1)[1]
    assert Client().get(f"{_bare(body['url'])}?{thumbnail_signature}").status_code == 403  # another variant's signature

    def as_user(user):
        client = Client()
        sign_in(client, user)
        return client.get(_bare(body["url"])).status_code

    assert as_user(chat.expert.user) == 200
    assert as_user(make_expert("bob", brands=[brand]).user) == 403  # an expert of the brand, not of this conversation
    call_command("create_community_manager", "carol", password="pw-carol-123", email="c@example.test", stdout=io.StringIO())
    carol = django_user_model.objects.get(username="carol")
    assert as_user(carol) == 200
    from moderation.models import ManagerScope

    ManagerScope.objects.create(user=carol).brands.set([other_brand])
    assert as_user(django_user_model.objects.get(username="carol")) == 403  # a manager of another brand only


def test_a_signed_url_expires(visitor_upload, monkeypatch):
    import time

    body = visitor_upload().json()
    later = time.time() + 4 * 3600 + 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert Client().get(body["url"]).status_code == 403


def test_an_unknown_picture_is_not_found():
    response = Client().get("/attachments/6f1c1d52-8a8f-4a53-9e0e-000000000000/")
    assert response.status_code == 404 and json.loads(response.content)["code"] == "not_found"
