"""Experts who are not looking: Web Push to a local push service, through the real sockets and `chat_worker --once`.

The test plays the browser (a P-256 key pair and an auth secret, as PushManager makes them) and the
push service (a small HTTP server here); it decrypts what arrives with http_ece, as a browser does.
"""

import base64
import json
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from channels.db import database_sync_to_async
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.test import Client
from django.utils import timezone

from tests.support import arun_worker_once, client_id, run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Which size for a 30 km hike? My order is #A12345"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A push service on 127.0.0.1: keeps every request; answers ``status`` (201, or 410 for a gone subscription)."""

    def __init__(self):
        self.received = []
        self.status = 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Browser:
    """What a browser's PushManager.subscribe() makes: a P-256 key pair, a 16-byte auth secret, an endpoint."""

    def __init__(self, endpoint):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self) -> dict:
        point = self.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def vapid(settings):
    from experts.push import generate_vapid_keys

    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = generate_vapid_keys()
    settings.VAPID_SUBJECT = "mailto:ops@example.test"
    settings.CHAT_PUSH_ENDPOINT_SCHEMES = ("https", "http")  # the local push service is plain http
    return settings


def signed_in(expert) -> tuple[Client, str]:
    """A browser session of the expert that enforces CSRF, and the token the dashboard gives its script."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(expert.user)
    page = client.get("/dashboard/").content.decode()
    marker = 'data-csrf="'
    if marker in page:
        return client, page[page.index(marker) + len(marker):].split('"', 1)[0]
    client.get("/dashboard/profile/")  # no switch without keys: the profile form's token then
    return client, client.cookies["csrftoken"].value


def subscribe(expert, browser) -> None:
    client, token = signed_in(expert)
    response = client.post("/dashboard/push/subscribe/", json.dumps(browser.subscription()),
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def sweeps_due():
    """The next `chat_worker --once` runs every sweep again (they are not due for some seconds otherwise)."""
    from chatplatform.models import SweepSchedule

    SweepSchedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))


def verify_vapid(headers, *, public_key: str, audience: str) -> dict:
    """The Authorization header's JWT, checked with the server's public key (ES256); return its claims."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    signed, _, signature = fields["t"].rpartition(".")
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               signed.encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(signed.split(".")[1]))
    assert claims["aud"] == audience and claims["sub"] == "mailto:ops@example.test"
    assert claims["exp"] > timezone.now().timestamp()
    return claims


async def ask(connect, text=QUESTION):
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": text, "client_id": client_id()})
    return visitor, (await visitor.recv_type("conversation"))["conversation"]["id"]


async def test_a_new_question_reaches_the_experts_browser_encrypted_signed_and_without_its_text(
    connect, alice, vapid, push_service
):
    browser = Browser(f"{push_service.origin}/push/alice-laptop")
    await database_sync_to_async(subscribe)(alice, browser)
    await ask(connect)
    await arun_worker_once()

    assert len(push_service.received) == 1
    request = push_service.received[0]
    assert request["path"] == "/push/alice-laptop"
    assert request["headers"]["content-encoding"] == "aes128gcm"
    assert browser.decrypt(request["body"]) == {
        "title": "New question on Acme Outdoor", "url": "/dashboard/", "tag": "question:Acme Outdoor",
    }
    verify_vapid(request["headers"], public_key=vapid.VAPID_PUBLIC_KEY, audience=push_service.origin)
    with pytest.raises(InvalidSignature):  # another key does not verify it: the check is real
        from experts.push import generate_vapid_keys

        other = generate_vapid_keys()[0]
        verify_vapid(request["headers"] | {"authorization": request["headers"]["authorization"].replace(
            vapid.VAPID_PUBLIC_KEY, other)}, public_key=other, audience=push_service.origin)

    # Never twice for one event: the sweep runs again and finds nothing new.
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert len(push_service.received) == 1


async def test_a_visitors_message_is_pushed_once_per_interval_not_per_message(connect, alice, vapid, push_service):
    from experts.models import PushNotice

    browser = Browser(f"{push_service.origin}/push/alice-phone")
    await database_sync_to_async(subscribe)(alice, browser)
    visitor, conversation_id = await ask(connect)
    expert = await connect.expert(alice)  # online: no push for the question
    await expert.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await arun_worker_once()
    assert push_service.received == []
    await expert.close()  # the dashboard is closed; the visitor writes on

    for text in ("Hello?", "Are you still there? My phone is 555 123 4567"):
        await visitor.send({"type": "message.send", "text": text, "client_id": client_id()})
        await visitor.recv_type("message")
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert [browser.decrypt(r["body"])["title"] for r in push_service.received] == ["New message from a visitor on Acme Outdoor"]
    assert b"phone" not in push_service.received[0]["body"]

    await visitor.send({"type": "message.send", "text": "Hello again", "client_id": client_id()})
    await visitor.recv_type("message")
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert len(push_service.received) == 1  # within CHAT_PUSH_MIN_INTERVAL_SECONDS: no second push

    await database_sync_to_async(
        lambda: PushNotice.objects.update(notified_at=timezone.now() - timedelta(seconds=121))
    )()
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert len(push_service.received) == 2  # the interval passed and a message is still unread


async def test_no_push_while_a_dashboard_is_open(connect, alice, vapid, push_service):
    await database_sync_to_async(subscribe)(alice, Browser(f"{push_service.origin}/push/a"))
    expert = await connect.expert(alice)
    await ask(connect)
    await arun_worker_once()
    assert push_service.received == []
    await expert.close()
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert len(push_service.received) == 1  # closed a moment later: the question, still new, is pushed


async def test_a_subscription_the_push_service_forgot_is_deleted(connect, alice, vapid, push_service):
    from experts.models import PushSubscription

    await database_sync_to_async(subscribe)(alice, Browser(f"{push_service.origin}/push/gone"))
    push_service.status = 410
    await ask(connect)
    await arun_worker_once()
    assert len(push_service.received) == 1
    assert not await database_sync_to_async(PushSubscription.objects.exists)()


async def test_a_push_service_that_fails_is_tried_again(connect, alice, vapid, push_service):
    from django_tasks_db.models import DBTaskResult

    await database_sync_to_async(subscribe)(alice, Browser(f"{push_service.origin}/push/busy"))
    push_service.status = 503
    await ask(connect)
    await arun_worker_once()
    push_service.status = 201
    await database_sync_to_async(lambda: DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now()))()
    await arun_worker_once()
    assert len(push_service.received) == 2  # the retry reached it, and the subscription is kept


async def test_a_push_the_service_refuses_is_not_retried_and_the_subscription_kept(connect, alice, vapid, push_service):
    from django_tasks_db.models import DBTaskResult

    from experts.models import PushSubscription

    await database_sync_to_async(subscribe)(alice, Browser(f"{push_service.origin}/push/other-key"))
    push_service.status = 403  # e.g. subscribed under another VAPID key
    await ask(connect)
    await arun_worker_once()
    assert len(push_service.received) == 1
    assert not await database_sync_to_async(DBTaskResult.objects.filter(status="READY").exists)()
    assert await database_sync_to_async(PushSubscription.objects.exists)()


def test_without_vapid_keys_there_is_no_switch_and_no_push(alice, settings, push_service):
    from experts.models import PushSubscription, PushNotice
    from visitors.models import Conversation, Visitor

    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    settings.CHAT_PUSH_ENDPOINT_SCHEMES = ("https", "http")
    client, token = signed_in(alice)
    assert 'id="push-switch"' not in client.get("/dashboard/").content.decode()
    response = client.post("/dashboard/push/subscribe/", json.dumps(Browser(f"{push_service.origin}/p").subscription()),
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    # Even a subscription kept from before is not pushed to.
    PushSubscription.objects.create(expert=alice, endpoint=f"{push_service.origin}/old", p256dh="x", auth="y")
    visitor = Visitor.objects.create(brand=alice.brands.get(), token_hash="0" * 64)
    Conversation.objects.create(brand=visitor.brand, visitor=visitor)
    run_worker_once()
    assert push_service.received == [] and not PushNotice.objects.exists()


def test_the_subscribe_endpoints_refuse_bad_input_and_need_the_csrf_token(alice, vapid):
    from experts.models import PushSubscription

    client, token = signed_in(alice)
    assert 'id="push-switch"' in client.get("/dashboard/").content.decode()
    good = Browser("https://push.example.test/send/abc").subscription()

    def post(path, body, **headers):
        return client.post(path, body if isinstance(body, str) else json.dumps(body), content_type="application/json", **headers)

    assert post("/dashboard/push/subscribe/", good).status_code == 403  # no CSRF token
    csrf = {"HTTP_X_CSRFTOKEN": token}
    cases = [
        ("not json", "invalid_frame"),
        ([1, 2], "invalid_frame"),
        ({"endpoint": "https://push.example.test/x"}, "invalid_frame"),
        (good | {"endpoint": "javascript:alert(1)"}, "invalid_field"),
        (good | {"endpoint": "https://push.example.test/" + "a" * 1000}, "too_long"),
        (good | {"keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}, "invalid_field"),
        (good | {"keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": good["keys"]["auth"]}}, "invalid_field"),
        (good | {"keys": {"p256dh": good["keys"]["p256dh"], "auth": b64url(b"short")}}, "invalid_field"),
        (good | {"keys": {"p256dh": good["keys"]["p256dh"], "auth": "\x00" * 22}}, "invalid_field"),
    ]
    for body, code in cases:
        response = post("/dashboard/push/subscribe/", body, **csrf)
        assert (response.status_code, response.json()["code"]) == (400, code), body
    vapid.CHAT_PUSH_ENDPOINT_SCHEMES = ("https",)
    assert post("/dashboard/push/subscribe/", good | {"endpoint": "http://10.0.0.1/x"}, **csrf).json()["code"] == "invalid_field"
    assert not PushSubscription.objects.exists()

    assert post("/dashboard/push/subscribe/", good, **csrf).status_code == 201
    assert post("/dashboard/push/subscribe/", good, **csrf).status_code == 201  # again: still one
    assert PushSubscription.objects.get().expert == alice
    assert client.get("/dashboard/push/subscribe/").status_code == 405
    assert post("/dashboard/push/unsubscribe/", {"endpoint": good["endpoint"]}).status_code == 403
    assert post("/dashboard/push/unsubscribe/", {"endpoint": good["endpoint"]}, **csrf).json() == {"subscribed": False}
    assert not PushSubscription.objects.exists()


def test_vapid_keys_command_prints_a_pair_that_signs(capsys):
    from django.core.management import call_command
    from py_vapid import Vapid

    call_command("vapid_keys")
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    signer = Vapid.from_string(lines["VAPID_PRIVATE_KEY"])
    point = signer.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert b64url(point) == lines["VAPID_PUBLIC_KEY"] and len(unb64url(lines["VAPID_PUBLIC_KEY"])) == 65


async def test_a_question_in_its_topics_wait_is_pushed_only_to_its_topics_experts(connect, alice, bob, vapid, push_service):
    # Alice answers "care" only; Bob (sizing) is online, so a sizing question waits for its topic first.
    from experts.models import Topic
    from visitors.models import Conversation

    def topics():
        care = Topic.objects.create(brand=alice.brands.get(), slug="care", name="Care")
        sizing = Topic.objects.create(brand=alice.brands.get(), slug="sizing", name="Sizing")
        alice.topics.set([care])
        bob.topics.set([sizing])

    await database_sync_to_async(topics)()
    await database_sync_to_async(subscribe)(alice, Browser(f"{push_service.origin}/push/alice-laptop"))
    await connect.expert(bob)
    visitor = await connect.visitor()
    await visitor.send({"type": "conversation.start", "text": QUESTION, "client_id": client_id(), "topic": "sizing"})
    conversation_id = (await visitor.recv_type("conversation"))["conversation"]["id"]
    await arun_worker_once()
    assert push_service.received == []  # not Alice's topic, for now
    # The wait is over: the sweep widens it, and the next push sweep tells Alice.
    await database_sync_to_async(Conversation.objects.filter(pk=conversation_id).update)(topic_offer_until=timezone.now())
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    await database_sync_to_async(sweeps_due)()
    await arun_worker_once()
    assert len(push_service.received) == 1
