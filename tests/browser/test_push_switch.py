"""The dashboard's "Notify me" switch in Chromium: the service worker registers under our CSP, and the
subscription reaches the server and leaves it again.

Headless Chromium has no push service to subscribe with, so the page's PushManager is replaced by one
that returns a subscription made here (a real P-256 key); everything else is the browser's and the
server's own: the permission, the service worker's registration, the POSTs with the session and the
CSRF token, the rows they write.
"""

import base64
import io
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.test_faces import sign_in
from tests.e2e.servers import daphne_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def push_server_url(browser, transactional_db):
    from experts.push import generate_vapid_keys

    call_command("seed_demo", stdout=io.StringIO())
    public, private = generate_vapid_keys()
    with daphne_server(DJANGO_SETTINGS_MODULE="chatplatform.test_settings", SECRET_KEY="browser-test-key-not-secret",
                       LOG_LEVEL="WARNING", VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private) as base:
        yield str(base)


FAKE_PUSH_MANAGER = """
(subscription) => {
  // Kept across a reload, as a browser keeps its subscription.
  function make() {
    return { endpoint: subscription.endpoint, toJSON: () => subscription,
             unsubscribe: () => { sessionStorage.removeItem("fakePush"); return Promise.resolve(true); } };
  }
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(sessionStorage.getItem("fakePush") ? make() : null);
  };
  PushManager.prototype.subscribe = function (options) {
    window.subscribedWithKey = options.applicationServerKey.length;
    sessionStorage.setItem("fakePush", "1");
    return Promise.resolve(make());
  };
}
"""


def test_notify_me_registers_the_worker_and_subscribes_then_unsubscribes(push_server_url, new_page):
    from experts.models import PushSubscription

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    subscription = {"endpoint": "https://push.example.test/send/chromium-1", "expirationTime": None,
                    "keys": {"p256dh": b64url(point), "auth": b64url(b"0123456789abcdef")}}
    page = new_page()
    page.context.grant_permissions(["notifications"], origin=push_server_url)
    page.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(subscription)})")
    sign_in(page, push_server_url)

    switch = page.get_by_label("Notify me")
    expect(switch).to_be_visible()
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.locator("#push-status")).to_have_text("On: this browser is notified while your dashboard is closed.")
    assert page.evaluate("window.subscribedWithKey") == 65  # the server's public key, decoded
    # The real service worker, from our origin, allowed by the CSP.
    workers = page.evaluate("navigator.serviceWorker.getRegistrations().then(rs => rs.map(r => r.active && r.active.scriptURL))")
    assert len(workers) == 1 and re.search(r"/static/experts/push-sw(\.\w+)?\.js$", workers[0]), workers
    saved = PushSubscription.objects.get()
    assert (saved.expert.user.username, saved.endpoint, saved.p256dh) == ("alice", subscription["endpoint"], b64url(point))

    page.reload()  # already subscribed in this browser: shown on
    expect(page.get_by_label("Notify me")).to_be_checked()

    page.get_by_label("Notify me").uncheck()
    expect(page.locator("#push-status")).to_have_text("Off.")
    assert not PushSubscription.objects.exists()
    assert page.errors == []


def test_a_refused_permission_leaves_the_switch_off_and_says_why(push_server_url, new_page):
    from experts.models import PushSubscription

    page = new_page()
    page.add_init_script("Notification.requestPermission = () => Promise.resolve('denied');")
    sign_in(page, push_server_url)
    page.get_by_label("Notify me").click()
    expect(page.locator("#push-status")).to_contain_text("Could not turn it on: Notifications are blocked")
    expect(page.get_by_label("Notify me")).not_to_be_checked()
    assert not PushSubscription.objects.exists()
