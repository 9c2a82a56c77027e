"""Web Push to experts: the VAPID keys, the payloads, and one push to one browser (pywebpush).

The payload names the brand and what happened, never a message's text: it
crosses a third party's push service (encrypted, but stored there while the
browser is offline). docs/faces.md shows it; docs/protocol.md is its contract.
"""

import base64
import json

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from urllib3.exceptions import NewConnectionError

# A push the browser could not take within this long is dropped by the push service:
# "a new question" half a day later is news no more (the digest covers that).
TTL_SECONDS = 6 * 3600

QUESTION = "question"
MESSAGE = "message"


class Gone(Exception):
    """The push service no longer knows this subscription (404, 410): delete it."""


class NotSent(Exception):
    """Nothing reached the push service (it could not be reached, or answered 429 or 5xx): try again later."""


class Refused(Exception):
    """The push service refused this push for good (400, 401, 403, 413: our request or key is wrong): not retried."""


class Uncertain(Exception):
    """The push service may have taken the push (the answer never came): do not send it again."""


def enabled() -> bool:
    """Whether pushes are configured (both VAPID keys set); without them there is no opt-in and no push."""
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (public key, private key), base64url as the settings take them.

    The public key is the uncompressed P-256 point (the browser's ``applicationServerKey``);
    the private key its 32-byte secret.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(public), _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def payload(*, kind: str, brand_name: str, count: int = 1) -> dict:
    """What the service worker shows (static/experts/push-sw.js): a title, a tag, the dashboard's path."""
    if kind == QUESTION:
        title = ngettext("New question on %(brand)s", "%(count)s new questions on %(brand)s", count) % {
            "count": count, "brand": brand_name}
    else:
        title = gettext("New message from a visitor on %(brand)s") % {"brand": brand_name}
    # One notification per kind and brand on the screen: a newer one replaces it.
    return {"title": title, "url": reverse("expert-dashboard"), "tag": f"{kind}:{brand_name}"[:100]}


def send(subscription_info: dict, data: dict) -> None:
    """Encrypt ``data`` to one browser and hand it to its push service; raise Gone, NotSent, Refused or Uncertain."""
    try:
        webpush(
            subscription_info=subscription_info,
            data=json.dumps(data, separators=(",", ":")),
            vapid_private_key=Vapid.from_string(settings.VAPID_PRIVATE_KEY),
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            timeout=settings.CHAT_PUSH_TIMEOUT_SECONDS,
            ttl=TTL_SECONDS,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            raise Gone(status) from None
        if status == 429 or (status or 0) >= 500:
            raise NotSent(status) from None
        raise Refused(status) from None  # 400, 401, 403 (another VAPID key made it), 413: retrying will not help
    except requests.ConnectTimeout as exc:
        raise NotSent(type(exc).__name__) from None
    except requests.ConnectionError as exc:
        # Refused or unresolvable: nothing left. Dropped after the request went out: it may have arrived.
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        if isinstance(reason, NewConnectionError):
            raise NotSent(type(reason).__name__) from None
        raise Uncertain(type(exc).__name__) from None
    except requests.Timeout as exc:  # the answer did not come in time
        raise Uncertain(type(exc).__name__) from None
