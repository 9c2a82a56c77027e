"""The base of every chat socket: frame decoding, error frames, a lean dispatch.

Subclasses map frame types to ``on_<name>`` methods; a method raises
``ChatError`` to refuse a frame and the socket stays open.
"""

import asyncio
import logging
import sys
import weakref
from time import monotonic

from autobahn.exception import Disconnected
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings
from redis.exceptions import RedisError

from chatplatform import errors, protocol
from chatplatform.close_codes import (  # noqa: F401 (named here for the sockets built on this class)
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_PROTOCOL,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_BRAND,
)
from chatplatform.db import DATABASE_ERRORS, SOCKET_OPENED
from chatplatform.errors import ChatError
from chatplatform.i18n import localise_frame

logger = logging.getLogger(__name__)


# Every accepted socket of this process, so a shutdown can tell each to reconnect elsewhere.
LIVE_SOCKETS: "weakref.WeakSet[ProtocolConsumer]" = weakref.WeakSet()


class ProtocolConsumer(AsyncWebsocketConsumer):
    """A websocket speaking the v1 protocol's frames (chatplatform.protocol)."""

    #: frame type -> schema, from chatplatform.protocol
    frames: dict = {}
    #: what this socket may send: frame type -> declared class (chatplatform.protocol *_OUTBOUND)
    outbound: dict = protocol.BASE_OUTBOUND

    async def __call__(self, scope, receive, send):
        # Marks this task as a chat socket's: its database calls queue by age (chatplatform/db.py),
        # and its own channel is subscribed without holding up the handshake (chatplatform/layers.py).
        SOCKET_OPENED.set(monotonic())
        self.accepted = False
        try:
            await super().__call__(scope, receive, send)
        except (RedisError, OSError) as exc:
            # The channel layer went away (Redis restarted, network cut). Without this the
            # consumer dies with a traceback and a 1011; the database holds every message, so
            # the client is told to reconnect and resume (1012) instead.
            await self.close_going_away(send, "channel layer", exc)
        except DATABASE_ERRORS as exc:
            # The database went away (a failover, a restart) in a handshake, a layer event or a
            # close: the next attempt gets a fresh connection (CONN_HEALTH_CHECKS), so the
            # client is told to reconnect (1012), not that the server failed (1011, HTTP 500).
            await self.close_going_away(send, "database", exc)

    async def close_going_away(self, send, what: str, exc: BaseException) -> None:
        logger.warning("%s unavailable (%s); closing the socket with %s", what, type(exc).__name__, CLOSE_GOING_AWAY)
        LIVE_SOCKETS.discard(self)
        if not self.accepted:  # refused before accept, daphne answers HTTP 403: accept, so the 1012 reaches the client
            await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CLOSE_GOING_AWAY})
        try:  # what the close would have done (groups, presence rows, heartbeats), as far as it can now
            for group in self.groups:
                await self.channel_layer.group_discard(group, self.channel_name)
            await self.disconnect(CLOSE_GOING_AWAY)
        except Exception as cleanup:  # the same outage: what is left expires (group expiry, stale rows)
            logger.warning("cleanup after closing with %s failed (%s)", CLOSE_GOING_AWAY, type(cleanup).__name__)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True
        LIVE_SOCKETS.add(self)

    async def websocket_disconnect(self, message):
        # Channels' own, less its close_old_connections() in a thread (as in ``dispatch`` below):
        # in a reconnect storm, 4,000 sockets dropping made 4,000 such hops.
        LIVE_SOCKETS.discard(self)
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def dispatch(self, message):
        # Channels (>= 4.2) awaits close_old_connections() in a thread before every
        # message, socket frames and layer events alike. Our database work runs in
        # database_sync_to_async, which already closes stale connections around
        # each call, so the extra thread hop per event is pure cost.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None):
        data = None
        try:
            data = protocol.decode_frame(text_data, bytes_data)
            frame = protocol.parse_frame(data, self.frames)
            await self.before_frame(data["type"])
            await getattr(self, "on_" + data["type"].replace(".", "_"))(frame)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail, protocol.frame_ref(data), **exc.extra)
            await self.after_refusal(exc)
        except DATABASE_ERRORS:
            logger.exception("database error while handling a %s frame", self.__class__.__name__)
            await self.send_error(
                errors.UNAVAILABLE, "The server could not store this just now; send it again.", protocol.frame_ref(data)
            )

    async def before_frame(self, frame_type: str) -> None:
        """Hook: refuse a frame before its handler runs (e.g. before hello)."""

    async def after_refusal(self, exc: ChatError) -> None:
        """Hook: react to a refused frame (e.g. close before hello)."""

    # The reader's language (chatplatform/i18n.py), set at connect: system messages are sent in it.
    language: str | None = None

    async def send_frame(self, frame: dict) -> None:
        if settings.CHAT_CHECK_FRAMES:  # tests: every frame sent is checked against its declaration
            protocol.check_outbound(self.outbound, frame)
        try:
            await self.send(text_data=protocol.encode(localise_frame(frame, self.language)))
        except Disconnected:
            # The client closed between this frame's making and its sending (daphne has its
            # close, not yet the end of the connection): the disconnect follows, and what the
            # frame carried is in the database for the client's resume. Without this, a message
            # event reaching a socket as it drops ended its consumer with a traceback.
            pass

    async def send_error(self, code: str, detail: str, ref=None, **extra) -> None:
        extra.pop("field", None)
        await self.send_frame(protocol.error_frame(code, detail, ref, **extra))

    async def on_ping(self, frame) -> None:
        await self.send_frame(protocol.PONG)

    async def layer_resync(self, event) -> None:
        """The channel layer may have lost events (chatplatform.layers): sockets that follow state re-read it."""


def allow_restart_close_codes() -> None:
    """Let daphne send RFC 6455's 1001 (going away) and 1012 (service restart).

    autobahn, under daphne, refuses any application close code but 1000 and
    3000-4999 (and raises inside the close). Those two are the codes that tell a
    client "reconnect, resume"; daphne itself sends 1011 through the same lower
    call used here.
    """
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose
    if getattr(original, "allows_restart_codes", False):
        return

    def server_close(self, code=None):
        if code in (1001, CLOSE_GOING_AWAY):
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    server_close.allows_restart_codes = True
    WebSocketProtocol.serverClose = server_close


def close_bad_frames_with_their_code() -> None:
    """Under daphne, answer a frame over the size limit with 1009 and invalid UTF-8 with 1007.

    autobahn fails such a connection by dropping its TCP connection unless its
    factory's `failByDrop` option is off (it is on by default, and daphne leaves
    it): the client saw 1006 and no reason. With it off, autobahn sends the close
    frame RFC 6455 names (1009 message too big, 1007 invalid payload) and then
    closes. daphne makes its factory inside ``Server.run`` from the name
    ``daphne.server.WebSocketFactory``; a subclass under that name turns the option
    off (daphne is pinned; tests/test_serve.py fails if that name moves).
    """
    if "daphne.server" not in sys.modules:
        return
    import daphne.server

    factory = daphne.server.WebSocketFactory
    if getattr(factory, "closes_with_a_code", False):
        return

    class WebSocketFactory(factory):
        closes_with_a_code = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setProtocolOptions(failByDrop=False)

    daphne.server.WebSocketFactory = WebSocketFactory


def close_sockets_on_shutdown() -> None:
    """Under daphne, close every socket with 1012 before the server stops (SIGTERM, deploys).

    Daphne otherwise drops the TCP connections, and clients see 1006 (abnormal
    closure) with no hint that another process will take them. A "before shutdown"
    trigger may return a Deferred; the reactor waits for it.
    """
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import defer, reactor

    allow_restart_close_codes()

    async def close_all():
        sockets = list(LIVE_SOCKETS)
        if sockets:
            await asyncio.wait([asyncio.ensure_future(s.close(CLOSE_GOING_AWAY)) for s in sockets], timeout=2)
            await asyncio.sleep(0.2)  # let the close frames leave before the transports are torn down

    def trigger():
        return defer.Deferred.fromFuture(asyncio.ensure_future(close_all()))

    reactor.addSystemEventTrigger("before", "shutdown", trigger)
