"""Helpers for the tests: opening sockets the way clients do, and finding the services."""

import asyncio
import json
import os
import shutil
import uuid

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

BRAND_ORIGIN = b"https://shop.acme.test"
OWN_HOST = b"testserver"
OWN_ORIGIN = b"http://testserver"
TIMEOUT = 10


def using_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def redis_url() -> str | None:
    """REDIS_URL when set; otherwise None: tests use no Redis they were not given (a local one may hold someone's data)."""
    return os.environ.get("REDIS_URL") or None


def chromium() -> str | None:
    """The Chromium the browser tests drive: CHROMIUM when set, else the one on PATH, else Debian's."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def browser_missing() -> str | None:
    if chromium() is None:
        return "needs Chromium (Debian's /usr/bin/chromium, one on PATH, or CHROMIUM=/path/to/it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "needs Playwright for Python"
    return None


def application():
    from chatplatform.asgi import application as app

    return app


class Socket:
    """A connected WebsocketCommunicator with the waits the tests need.

    ``log`` keeps every frame the server sent, in order, including those the
    waits below skip over: a leak scan reads ``log``, never only what a wait returned.
    """

    def __init__(self, communicator):
        self.communicator = communicator
        self.closed = False
        self.log: list[dict] = []

    async def send(self, frame: dict):
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str):
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout=TIMEOUT) -> dict:
        frame = await self.communicator.receive_json_from(timeout=timeout)
        self.log.append(frame)
        return frame

    async def recv_type(self, frame_type: str, timeout=TIMEOUT) -> dict:
        """Receive frames until one of ``frame_type``; return it (earlier ones are skipped, and kept in ``log``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(timeout=max(0.05, deadline - loop.time()))
            if frame["type"] == frame_type:
                return frame

    async def request(self, frame: dict, expect: str) -> dict:
        await self.send(frame)
        return await self.recv_type(expect)

    async def error(self, frame: dict) -> dict:
        await self.send(frame)
        return await self.recv_type("error")

    async def nothing(self, timeout=0.2, *, besides=("experts.online",)) -> bool:
        """True when nothing arrives within ``timeout`` but frames of the types ``besides`` (kept in ``log``).

        By default a visitor's `experts.online` does not count: it comes whenever an expert
        of the brand connects or changes status, which most tests do around what they check.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.communicator.receive_nothing(timeout=max(0.0, deadline - loop.time())):
                return True
            if (await self.recv())["type"] not in besides:
                return False

    async def drain(self, timeout=0.2) -> list[dict]:
        frames = []
        while not await self.communicator.receive_nothing(timeout=timeout):
            frames.append(await self.recv())
        return frames

    async def closed_with(self, timeout=TIMEOUT) -> int:
        """Wait for the server to close the socket; return the close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            output = await self.communicator.receive_output(timeout=max(0.05, deadline - loop.time()))
            if output["type"] == "websocket.send" and output.get("text"):
                self.log.append(json.loads(output["text"]))
            if output["type"] == "websocket.close":
                self.closed = True
                return output.get("code")

    async def close(self):
        if not self.closed:
            self.closed = True
            await self.communicator.disconnect()


class SocketFactory:
    def __init__(self):
        self.opened: list[Socket] = []

    async def raw(self, path: str, headers) -> tuple[Socket, bool, int | None]:
        communicator = WebsocketCommunicator(application(), path, headers=headers)
        connected, code = await communicator.connect(timeout=TIMEOUT)
        socket = Socket(communicator)
        self.opened.append(socket)
        if not connected:
            socket.closed = True
        return socket, connected, code

    async def visitor(self, brand="acme", *, token=None, nickname=None, last_seq=0, origin=BRAND_ORIGIN, hello=True, address=None,
                      host=OWN_HOST):
        headers = [(b"host", host)] + ([(b"origin", origin)] if origin else [])
        if address:
            headers.append((b"x-forwarded-for", address.encode()))
        socket, connected, code = await self.raw(f"/ws/v1/visitor/{brand}/", headers)
        assert connected, f"visitor socket refused ({code})"
        if hello:
            frame = {"type": "hello", "token": token, "last_seq": last_seq}
            if nickname is not None:
                frame["nickname"] = nickname
            await socket.send(frame)
            socket.welcome = await socket.recv()
            assert socket.welcome["type"] == "welcome", socket.welcome
            socket.token = socket.welcome["token"]
        return socket

    async def expert(self, profile, *, origin=OWN_ORIGIN, expect_welcome=True, host=OWN_HOST):
        cookie = await database_sync_to_async(session_cookie)(profile.user)
        headers = [(b"cookie", cookie), (b"host", host)]
        if origin:
            headers.append((b"origin", origin))
        socket, connected, code = await self.raw("/ws/v1/expert/", headers)
        if expect_welcome:
            assert connected, f"expert socket refused ({code})"
            socket.welcome = await socket.recv()
            assert socket.welcome["type"] == "welcome", socket.welcome
        return socket

    async def moderation(self, user, *, origin=OWN_ORIGIN):
        """A community manager's live feed, signed in as ``user``; its welcome in ``welcome``."""
        cookie = await database_sync_to_async(session_cookie)(user)
        socket, connected, code = await self.raw("/ws/v1/moderation/", [(b"cookie", cookie), (b"host", OWN_HOST), (b"origin", origin)])
        assert connected, f"moderation socket refused ({code})"
        socket.welcome = await socket.recv()
        assert socket.welcome["type"] == "welcome", socket.welcome
        return socket

    async def close_all(self):
        for socket in self.opened:
            try:
                await socket.close()
            except (Exception, asyncio.CancelledError):  # already gone (the server closed it), or a timed-out wait
                pass


def pass_two_factor(client, user) -> None:
    """Mark ``client``'s signed-in session as having passed two-factor sign-in (chatplatform/mfa.py).

    With a confirmed authenticator of ``user`` (made if they have none), as django_otp.login records it.
    """
    from django_otp import DEVICE_ID_SESSION_KEY

    device = authenticator_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def totp_code(user) -> str:
    """A code ``user``'s authenticator app would show now, as a phone computes it (RFC 6238), not yet used.

    django-otp takes each time step's code once and accepts the steps next to now: the
    first of them past the last one used, so a test may sign the same user in again at once.
    """
    import time

    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    now = (int(time.time()) - device.t0) // device.step + device.drift
    step = next(t for t in range(now - device.tolerance, now + device.tolerance + 1) if t > device.last_t)
    return rfc6238(device.bin_key, step, digits=device.digits)


def rfc6238(key: bytes, counter: int, *, digits: int = 6) -> str:
    """The TOTP code of ``key`` for the time step ``counter`` (RFC 6238 over RFC 4226), computed here, not by django-otp."""
    import hashlib
    import hmac
    import struct

    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def authenticator_for(user):
    """Give ``user`` a confirmed authenticator app (django-otp TOTP device), as set-up would; return it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first() \
        or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def sign_in(client, user, *, two_factor: bool = True) -> None:
    """``client.force_login(user)``; a manager or superuser also as having passed two-factor sign-in.

    CHAT_MANAGER_MFA stays on in the tests: ``two_factor=False`` gives the session the
    admin and the moderation socket must refuse.
    """
    from chatplatform import mfa

    client.force_login(user)
    if two_factor and mfa.required(user):
        pass_two_factor(client, user)


def session_cookie(user, *, two_factor: bool = True) -> bytes:
    """The cookie of a new session signed in as ``user`` (a manager's having passed two-factor, unless told not)."""
    from django.test import Client

    client = Client()
    sign_in(client, user, two_factor=two_factor)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def client_id() -> str:
    return uuid.uuid4().hex


def run_worker_once() -> None:
    """What cron's `manage.py chat_worker --once` does: run the due tasks and sweeps, then return."""
    from django.core.management import call_command

    call_command("chat_worker", "--once")


async def arun_worker_once() -> None:
    await database_sync_to_async(run_worker_once)()
