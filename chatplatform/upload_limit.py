"""Refuse an oversized picture upload before its body is received (docs/security.md, "Pictures").

Django's ASGI handler reads a request's whole body before any middleware or
view runs, so a check in the view comes after the bytes were received and
spooled. This ASGI middleware sits in front of Django for ``POST /attachments/``
only: a Content-Length past the limit is answered 413 at once, and a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes it.
A body that is not ``multipart/form-data`` with a boundary is refused (400) as
well, with the endpoint's JSON error, before Django's parser would answer it
with an HTML page.
"""

import orjson
from django.conf import settings

from chatplatform import errors

UPLOAD_PATH = "/attachments/"
# What a multipart body adds around the file (boundaries, part headers, the conversation id).
MULTIPART_SLACK = 16 * 1024


def body_limit() -> int:
    return settings.CHAT_ATTACHMENT_MAX_BYTES + MULTIPART_SLACK


async def _refuse(send, status: int = 413) -> None:
    if status == 413:
        error = {"code": errors.TOO_LARGE, "detail": f"Pictures are limited to {settings.CHAT_ATTACHMENT_MAX_BYTES:,} bytes."}
    else:
        error = {"code": errors.INVALID_FRAME, "detail": "Send a multipart/form-data body with `conversation` and `file`."}
    body = orjson.dumps(error)
    await send({"type": "http.response.start", "status": status,
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
        content_type = b""
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                return await _refuse(send)
            if name == b"content-type":
                content_type = value.lower()
        if not content_type.startswith(b"multipart/form-data") or b"boundary=" not in content_type:
            return await _refuse(send, 400)
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
