"""How a visitor socket opens and closes: admission at connect, the hello, its beat, and its leaving.

The socket class (visitors/consumers.py) handles the frames and events of an
open session; this mixin holds what comes before and after them. The shared
parts (own groups, the hello deadline, the beat) are chatplatform/sockets.py,
the conversations' delivery chatplatform/delivery.py.
"""

import logging

from django.conf import settings

from chatplatform.addresses import client_address
from chatplatform.beats import TRANSIENT_ERRORS
from chatplatform.close_codes import CLOSE_HELLO_TIMEOUT, CLOSE_TOO_MANY, CLOSE_UNKNOWN_BRAND
from chatplatform.db import database_sync_to_async
from chatplatform.errors import ChatError
from chatplatform.groups import address_group, visitor_group
from chatplatform.i18n import socket_language
from chatplatform.origins import header, visitor_origin_allowed
from chatplatform.sockets import SocketLifecycle
from moderation import abuse, flood
from moderation import services as moderation_services
from moderation.blocks import BlockPolicy

from . import experts_online, presence, selectors, services
from . import socket_actions as actions
from .tokens import address_hashes

logger = logging.getLogger(__name__)


class VisitorSession(SocketLifecycle):
    """Mixin for the visitor socket: who it serves, from connect to disconnect."""

    async def admit(self) -> None:
        """connect(): the brand, the page's origin, the address's flood limits; then wait for `hello`."""
        self.init_lifecycle()
        self.visitor = None
        self.page = None  # the page said at hello (protocol.Page), for a question started without one
        self.experts_online = None  # the figure this socket showed last (welcome, then experts.online)
        self.watched = False
        self.open_conversation_id = None
        self.blocked = False
        self.flooding_noted = False
        # This socket's places in the counts of open sockets (per address, per visitor).
        self.open_sockets = flood.OpenSockets(self.channel_name)
        self.brand = await selectors.brand_for_socket(self.scope["url_route"]["kwargs"]["brand_slug"])
        if self.brand is None:
            await self.accept()
            await self.close(CLOSE_UNKNOWN_BRAND)
            return
        if not visitor_origin_allowed(header(self.scope, b"origin"), self.brand.origin_list, scope=self.scope):
            await self.close()  # refused before accept: the handshake gets HTTP 403
            return
        # The address itself is never kept: only its keyed hashes (current key first).
        self.address_hashes = address_hashes(client_address(self.scope))
        self.address_hash = self.address_hashes[0] if self.address_hashes else ""
        self.blocks = BlockPolicy(self.brand, None, self.address_hashes)  # the visitor is added at hello
        self.brand_words = abuse.brand_words(self.brand.flagged_words)
        self.language = socket_language(self.scope, self.brand.language_list, self.brand.default_language)
        await self.accept()
        try:
            await flood.check("connection", address_hash=self.address_hash)
            await self.open_sockets.claim("address", self.address_hash)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail)
            await self.close(CLOSE_TOO_MANY)
            return
        self.arm_hello_deadline(settings.CHAT_HELLO_TIMEOUT_SECONDS, self._hello_timed_out)

    async def _hello_timed_out(self):
        if self.visitor is None:
            await self.close(CLOSE_HELLO_TIMEOUT)

    async def leave(self) -> None:
        """disconnect(): out of every group and count; the visitor is away unless another socket says otherwise."""
        await self.end_lifecycle()
        if getattr(self, "watched", False):
            await experts_online.unwatch(self)
        if getattr(self, "open_sockets", None) is not None:
            await self.open_sockets.release()
        if hasattr(self, "followed"):
            await self.unfollow_all()
        if getattr(self, "visitor", None) is not None:
            presence.leave(self.visitor.pk)
            # After leaving the groups: the visitor's other sockets (not this one) answer "still here".
            try:
                await database_sync_to_async(services.mark_visitor_away)(visitor_id=self.visitor.pk)
            except TRANSIENT_ERRORS as exc:  # the database is away: the next hello sets it right
                logger.warning("visitor away mark failed (%s)", type(exc).__name__)

    async def hello(self, frame) -> None:
        # The deadline is for sending `hello`, not for the server's answer: in a reconnect storm
        # the answer may wait on the database for longer. A hello that fails arms it again.
        self.disarm_hello_deadline()
        try:
            await self._hello(frame)
        except BaseException:
            if self.visitor is None:
                self.arm_hello_deadline(settings.CHAT_HELLO_TIMEOUT_SECONDS, self._hello_timed_out)
            raise

    async def _hello(self, frame):
        known, refusal, conversation_id = await database_sync_to_async(actions._lookup)(self.brand, frame.token, self.blocks)
        if refusal is not None:
            raise refusal
        if known is None:
            await flood.check("new_visitor", address_hash=self.address_hash)
        else:
            await flood.check("connection", visitor_id=known.id)
            await self.open_sockets.claim("visitor", known.id)  # before the session is touched
        # Join before reading, so nothing committed in between is missed (a new visitor has no
        # group yet: nothing can be sent to someone who does not exist).
        if known is not None:
            await self.join_own_group(visitor_group(known.id))
        if self.address_hash:  # an address block placed on someone else reaches this socket too
            await self.join_own_group(address_group(self.brand.slug, self.address_hash))
        if conversation_id:
            await self.follow(conversation_id)
        visitor, token, state = await database_sync_to_async(actions._open_session)(
            self.brand, known, frame.token, frame.nickname, self.address_hash, frame.last_seq
        )
        if known is None:  # a new visitor has no other socket yet: counted from now on
            await self.open_sockets.claim("visitor", visitor.id)
            await self.join_own_group(visitor_group(visitor.id))
        self.visitor = visitor
        visitor.language = self.language  # kept with a contact address: the e-mails' language (followups.set_contact)
        self.blocks = self.blocks.for_visitor(visitor)
        presence.join(visitor.pk)  # last_seen refreshed by this process while the socket is open
        self.page = frame.page
        self.experts_online = state["brand"]["experts_online"] = await experts_online.figure(self.brand)
        contact_refusal = None
        if frame.email is not None:  # rare: only a hello that carries an address pays for the write
            try:
                await database_sync_to_async(actions._hello_contact)(visitor, frame.email)
            except ChatError as exc:  # said after the welcome: the session itself is open
                contact_refusal = exc
        conversation = state["conversation"]
        # Followed only now (started from another socket meanwhile): what came in between is read below.
        followed_late = conversation is not None and conversation["id"] != conversation_id
        await self.adopt([conversation] if conversation else [], seen=frame.last_seq, followed=[conversation_id])
        if conversation is not None:
            self.open_conversation_id = conversation["id"]
        await self.send_frame(actions.welcome_frame(visitor, token, state))
        if contact_refusal is not None:
            await self.send_error(contact_refusal.code, contact_refusal.detail, **contact_refusal.extra)
        if conversation is not None:
            if state["messages"]:
                self.followed[conversation["id"]] = state["messages"][-1]["seq"]
            # Later messages arrive live (the group was joined before the read), unless the welcome
            # held only the first page of them, or the conversation was followed after the read.
            if followed_late or self.followed[conversation["id"]] < conversation["last_seq"]:
                await self.catch_up(conversation["id"])
        self.start_beat(lambda: settings.CHAT_VISITOR_HEARTBEAT_SECONDS, self._beat, "visitor socket heartbeat")
        self.watched = True
        await experts_online.watch(self)

    async def _beat(self) -> bool:
        """Keep this socket's open-socket places fresh, and re-check the block; True once closed for it.

        The `visitor.blocked` event is only a doorbell (the layer drops events
        when a channel is full): frames that reach the database check the block
        there, and this beat closes a blocked socket that only sends typing or
        pings, or nothing at all, within one heartbeat (plus CHAT_BLOCK_INDEX_SECONDS:
        the brand's blocks are read once per process for every socket's beat,
        moderation/block_index.py).
        """
        await self.open_sockets.refresh()
        covered, until = await self.blocks.covered_now()
        if covered:
            await self.refuse_blocked(moderation_services.BLOCKED_DETAIL, until)
        return covered
