"""Refuse an oversized picture upload before its body is received (docs/security.md, "Pictures").

Django's ASGI handler reads a request's whole body before any middleware or
view runs, so a check in the view comes after the bytes were received and
spooled. This ASGI middleware sits in front of Django for ``POST /attachments/``
only: a Content-Length past the limit is answered 413 at once, and a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes it.
"""

import orjson
from django.conf import settings

from chatplatform import errors

UPLOAD_PATH = "/attachments/"
# What a multipart body adds around the file (boundaries, part headers, the conversation id).
MULTIPART_SLACK = 16 * 1024


def body_limit() -> int:
    return settings.CHAT_ATTACHMENT_MAX_BYTES + MULTIPART_SLACK


async def _refuse(send) -> None:
    body = orjson.dumps({"code": errors.TOO_LARGE,
                         "detail": f"Pictures are limited to {settings.CHAT_ATTACHMENT_MAX_BYTES:,} bytes."})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class UploadSizeLimit:
    """ASGI middleware: the upload endpoint's body limit, enforced while the body is received."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != UPLOAD_PATH:
            return await self.application(scope, receive, send)
        limit = body_limit()
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                return await _refuse(send)
        received, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            total += len(message.get("body", b""))
            if total > limit:
                return await _refuse(send)
            received.append(message)
            if not message.get("more_body", False):
                break

        async def replay():
            return received.pop(0) if received else await receive()

        return await self.application(scope, replay, send)
