"""The visitor widget's socket: /ws/v1/visitor/<brand_slug>/ (docs/protocol.md, "Visitor socket")."""

import asyncio
import logging
import random

from django.conf import settings

from chatplatform import errors, protocol
from chatplatform.addresses import client_address
from chatplatform.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_PROTOCOL,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_BRAND,
    ProtocolConsumer,
)
from chatplatform.db import database_sync_to_async
from chatplatform.fanout import send_shared
from chatplatform.delivery import ConversationDelivery
from chatplatform.errors import ChatError
from chatplatform.groups import address_group, visitor_group
from chatplatform.origins import header, visitor_origin_allowed
from experts.selectors import experts_online_counts, shared_experts_online_count
from moderation import abuse, flood
from moderation import services as moderation_services
from moderation.blocks import BlockPolicy

from . import experts_online, presence, selectors, services, store
from .socket_actions import (  # noqa: F401 (named here: tests count and replace these trips)
    _end,
    _erase,
    _export,
    _hello_contact,
    _lookup,
    _next_expert,
    _note_flagged,
    _open_session,
    _rate,
    _read,
    _report,
    _set_contact,
    _start,
    _sync,
    _transcript,
    _welcome_state,
    visitor_view,
)
from .models import OPEN_STATUSES
from .tokens import address_hashes

logger = logging.getLogger(__name__)

# The widgets' watcher counts the experts online with the experts app's reader (visitors/experts_online.py).
experts_online.count_with(experts_online_counts)


class VisitorConsumer(ConversationDelivery, ProtocolConsumer):
    frames = protocol.VISITOR_FRAMES
    side = "visitor"
    message_reader = selectors.message_objects_after
    conversation_reader = selectors.conversation_objects
    # The flood limit (settings.FLOOD_LIMITS) each frame type counts against, per visitor and
    # address, checked before its handler. Not here: `hello` (counted as a connection or a new
    # visitor in its handler), `ping` (costs nothing), `data.erase` (it ends the visitor).
    frame_limits = {
        "conversation.start": "conversation_start",
        "conversation.next_expert": "conversation_start",
        "message.send": "message",
        "report.file": "report",
        "typing": "typing",
        "read": "read",
        "sync": "sync",
        "conversation.end": "conversation_end",
        "conversation.rate": "rating",
        "data.export": "data_export",
        "contact.set": "contact",
        "transcript.send": "transcript",
    }

    async def connect(self):
        self.init_delivery()
        self.visitor = None
        self.page = None  # the page said at hello (protocol.Page), for a question started without one
        self.experts_online = None  # the figure this socket showed last (welcome, then experts.online)
        self.watched = False
        self.open_conversation_id = None
        self.hello_deadline = None
        self.heartbeat = None
        # The visitor's and the address's groups, once joined (left on disconnect).
        self.own_groups: list[str] = []
        # This socket's places in the counts of open sockets (per address, per visitor).
        self.open_sockets = flood.OpenSockets(self.channel_name)
        slug = self.scope["url_route"]["kwargs"]["brand_slug"]
        self.blocked = False
        self.flooding_noted = False
        self.brand = await selectors.brand_for_socket(slug)
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
        await self.accept()
        try:
            await flood.check("connection", address_hash=self.address_hash)
            await self.open_sockets.claim("address", self.address_hash)
        except ChatError as exc:
            await self.send_error(exc.code, exc.detail)
            await self.close(CLOSE_TOO_MANY)
            return
        self._arm_hello_deadline()

    def _arm_hello_deadline(self):
        self.hello_deadline = asyncio.get_running_loop().call_later(
            settings.CHAT_HELLO_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._hello_timed_out())
        )

    async def _hello_timed_out(self):
        if self.visitor is None:
            await self.close(CLOSE_HELLO_TIMEOUT)

    async def disconnect(self, code):
        if self.hello_deadline is not None:
            self.hello_deadline.cancel()
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
        if getattr(self, "watched", False):
            await experts_online.unwatch(self)
        if getattr(self, "open_sockets", None) is not None:
            await self.open_sockets.release()
        for group in getattr(self, "own_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        if hasattr(self, "followed"):
            await self.unfollow_all()
        if getattr(self, "visitor", None) is not None:
            presence.leave(self.visitor.pk)
            # After leaving the groups: the visitor's other sockets (not this one) answer "still here".
            try:
                await database_sync_to_async(services.mark_visitor_away)(visitor_id=self.visitor.pk)
            except Exception as exc:  # the database is away: the next hello sets it right
                logger.warning("visitor away mark failed (%s)", type(exc).__name__)

    async def before_frame(self, frame_type):
        if self.blocked:
            raise ChatError(errors.BLOCKED, moderation_services.BLOCKED_DETAIL)
        if self.visitor is None and frame_type != "hello":
            raise ChatError(errors.INVALID_FRAME, "The first frame must be `hello`.")
        if self.visitor is not None:
            await flood.check_frame(frame_type, self.frame_limits, visitor_id=self.visitor.id, address_hash=self.address_hash)

    async def after_refusal(self, exc):
        if exc.code == errors.BLOCKED:
            await self.refuse_blocked(exc.detail, exc.extra.get("until"), already_said=True)
        elif exc.code == errors.UNAVAILABLE:
            pass  # nothing was refused for the client's sake: the same frame may be sent again
        elif exc.code == errors.RATE_LIMITED and self.visitor is None:
            await self.open_sockets.release()  # refused: it no longer counts as open
            await self.close(CLOSE_TOO_MANY)
        elif self.visitor is None:
            await self.close(CLOSE_PROTOCOL)
        elif exc.code == errors.RATE_LIMITED and not self.flooding_noted:
            # Once per socket: a flood of refused frames must not become a flood of database reads.
            self.flooding_noted = True
            await database_sync_to_async(moderation_services.note_flooding)(visitor=self.visitor)

    # --- frames -----------------------------------------------------------------

    async def on_hello(self, frame):
        if self.visitor is not None:
            raise ChatError(errors.INVALID_FRAME, "`hello` was already sent on this socket.")
        # The deadline is for sending `hello`, not for the server's answer: in a reconnect storm
        # the answer may wait on the database for longer. A hello that fails arms it again.
        self.hello_deadline.cancel()
        try:
            await self._hello(frame)
        except BaseException:
            if self.visitor is None:
                self._arm_hello_deadline()
            raise

    async def _hello(self, frame):
        known, refusal, conversation_id = await database_sync_to_async(_lookup)(self.brand, frame.token, self.blocks)
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
        visitor, token, state = await database_sync_to_async(_open_session)(
            self.brand, known, frame.token, frame.nickname, self.address_hash, frame.last_seq
        )
        if known is None:  # a new visitor has no other socket yet: counted from now on
            await self.open_sockets.claim("visitor", visitor.id)
            await self.join_own_group(visitor_group(visitor.id))
        self.visitor = visitor
        self.blocks = self.blocks.for_visitor(visitor)
        presence.join(visitor.pk)  # last_seen refreshed by this process while the socket is open
        self.page = frame.page
        # This process's watcher keeps the figure current while it has widgets of the brand open.
        known = experts_online.known_count(self.brand.pk)
        state["brand"]["experts_online"] = known if known is not None else await shared_experts_online_count(self.brand)
        self.experts_online = state["brand"]["experts_online"]
        contact_refusal = None
        if frame.email is not None:  # rare: only a hello that carries an address pays for the write
            try:
                await database_sync_to_async(_hello_contact)(visitor, frame.email)
            except ChatError as exc:  # said after the welcome: the session itself is open
                contact_refusal = exc
        conversation = state["conversation"]
        if conversation_id and (conversation is None or conversation["id"] != conversation_id):
            await self.unfollow(conversation_id)
        # Followed only now (started from another socket meanwhile): what came in between is read below.
        followed_late = conversation is not None and conversation["id"] != conversation_id
        if conversation is not None:
            await self.follow(conversation["id"])
            self.followed[conversation["id"]] = min(frame.last_seq, conversation["last_seq"])
            self.sent_states[conversation["id"]] = conversation
            self.open_conversation_id = conversation["id"]
        await self.send_frame(
            {
                "type": "welcome",
                "token": token,
                # Added: `email`, the visitor's contact address (this visitor's own sockets only).
                "visitor": {"id": str(visitor.id), "nickname": visitor.nickname or None, "email": visitor.email or None},
                "brand": state["brand"],
                "conversation": conversation,
                "messages": state["messages"],
                # Added: with no open conversation, the last ended one (to rate, report, or ask again).
                "last_conversation": state["last_conversation"],
            }
        )
        if contact_refusal is not None:
            await self.send_error(contact_refusal.code, contact_refusal.detail, **contact_refusal.extra)
        if conversation is not None:
            if state["messages"]:
                self.followed[conversation["id"]] = state["messages"][-1]["seq"]
            # Later messages arrive live (the group was joined before the read), unless the welcome
            # held only the first page of them, or the conversation was followed after the read.
            if followed_late or self.followed[conversation["id"]] < conversation["last_seq"]:
                await self.catch_up(conversation["id"])
        self.heartbeat = asyncio.ensure_future(self._beat())
        self.watched = True
        await experts_online.watch(self)

    async def join_own_group(self, group: str) -> None:
        if group not in self.own_groups:
            self.own_groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _beat(self):
        """Keep this socket's open-socket places fresh, and re-check the block.

        The `visitor.blocked` event is only a doorbell (the layer drops events
        when a channel is full): frames that reach the database check the block
        there, and this beat closes a blocked socket that only sends typing or
        pings, or nothing at all, within one heartbeat (plus CHAT_BLOCK_INDEX_SECONDS:
        the brand's blocks are read once per process for every socket's beat,
        moderation/block_index.py).
        """
        while True:
            # Never longer than the setting (the open-socket places go stale after three),
            # a little shorter at random so that sockets opened in one burst do not beat together.
            await asyncio.sleep(max(0.05, settings.CHAT_VISITOR_HEARTBEAT_SECONDS) * random.uniform(0.75, 1.0))
            try:
                await self.open_sockets.refresh()
                covered, until = await self.blocks.covered_now()
            except Exception as exc:  # the database is away for a moment: try again at the next beat
                logger.warning("visitor socket heartbeat failed (%s); trying again at the next", type(exc).__name__)
                continue
            if covered:
                await self.refuse_blocked(moderation_services.BLOCKED_DETAIL, until)
                return

    async def send_frame(self, frame: dict) -> None:
        await super().send_frame(visitor_view(frame))

    async def show_experts_online(self, count: int, shared: dict | None = None) -> None:
        """The process's watcher counted the brand's experts online: say so if the figure changed.

        ``shared``: the watcher's one event for all the brand's sockets, so the frame is encoded once.
        """
        if count == self.experts_online or self.blocked:
            return
        self.experts_online = count
        try:
            await send_shared(self, shared or {}, "", lambda: protocol.experts_online_frame(count))
        except Exception as exc:  # closing meanwhile: nothing to tell
            logger.debug("experts.online not sent (%s)", type(exc).__name__)

    def flagged(self, text: str) -> bool:
        return abuse.is_abusive(text, self.brand_words)

    async def on_conversation_start(self, frame):
        conversation, first = await database_sync_to_async(_start)(
            self.visitor, self.blocks, frame, self.flagged(frame.text), self.page
        )
        if frame.email is not None:  # the address came with the question: the widget shows it as stored
            await self.send_frame(protocol.contact_frame(self.visitor.email or None))
        if not await self.apply_conversation(conversation):
            # A retry of a start this socket already showed: answer it all the same.
            await self.send_frame(protocol.conversation_frame(conversation))
            await self.send_frame(protocol.message_frame(first))

    async def on_message_send(self, frame):
        outcome = await store.send_visitor_message(
            visitor=self.visitor, text=frame.text, client_id=frame.client_id, blocks=self.blocks,
            flagged=self.flagged(frame.text), note_flagged=_note_flagged,
        )
        await self.acknowledge(outcome)

    async def on_typing(self, frame):
        if self.open_conversation_id is None:
            raise ChatError(errors.NO_CONVERSATION, "You have no open conversation.")
        await services.relay_typing(conversation_id=self.open_conversation_id, author="visitor", active=frame.active)

    async def on_read(self, frame):
        await database_sync_to_async(_read)(self.visitor, self.blocks, frame.seq)

    async def on_sync(self, frame):
        conversation_id, messages, has_more = await database_sync_to_async(_sync)(self.visitor, self.blocks, frame.after_seq)
        await self.send_frame(protocol.messages_frame(conversation_id, messages, has_more))

    async def on_conversation_end(self, frame):
        await self.reply_with(await database_sync_to_async(_end)(self.visitor, self.blocks))

    async def on_conversation_rate(self, frame):
        await self.reply_with(await database_sync_to_async(_rate)(self.visitor, self.blocks, frame))

    async def on_conversation_next_expert(self, frame):
        await self.reply_with(await database_sync_to_async(_next_expert)(self.visitor, self.blocks))

    async def reply_with(self, conversation: dict) -> None:
        """Apply a state the client asked for, and answer even when it changed nothing."""
        if not await self.apply_conversation(conversation):
            await self.send_frame(protocol.conversation_frame(conversation))

    async def on_report_file(self, frame):
        reference = await database_sync_to_async(_report)(self.visitor, self.blocks, frame)
        await self.send_frame({"type": "report.filed", "reference": reference})

    async def on_data_export(self, frame):
        await self.send_frame({"type": "data.export", "data": await database_sync_to_async(_export)(self.visitor, self.blocks)})

    async def on_contact_set(self, frame):
        email = await database_sync_to_async(_set_contact)(self.visitor, self.blocks, frame.email)
        await self.send_frame(protocol.contact_frame(email))

    async def on_transcript_send(self, frame):
        conversation_id = await database_sync_to_async(_transcript)(self.visitor, self.blocks)
        await self.send_frame({"type": "transcript.queued", "conversation": conversation_id})

    async def on_data_erase(self, frame):
        # Every tab of the visitor (this one too) hears `visitor.erased` and closes.
        await database_sync_to_async(_erase)(self.visitor, self.blocks)

    async def refuse_blocked(self, detail: str, until, already_said: bool = False) -> None:
        """Say why, then close every way back in (4403)."""
        if self.blocked:
            return
        self.blocked = True
        if not already_said:
            await self.send_frame(protocol.error_frame(errors.BLOCKED, detail, None, until=until))
        await self.close(CLOSE_FORBIDDEN)

    # --- state -----------------------------------------------------------------

    async def apply_conversation(self, conversation: dict) -> bool:
        """Show a conversation's new state and follow it while it is open; False if it was shown already."""
        conversation_id = conversation["id"]
        if not await self.send_conversation_state(conversation):
            return False
        if conversation["status"] in OPEN_STATUSES:
            self.open_conversation_id = conversation_id
            await self.follow(conversation_id)
            await self.catch_up(conversation_id)
        else:
            if self.open_conversation_id == conversation_id:
                self.open_conversation_id = None
            await self.catch_up(conversation_id, upto_seq=conversation["last_seq"])
            await self.unfollow(conversation_id)
        return True

    # --- channel layer events ------------------------------------------------------

    async def chat_conversation(self, event):
        await self.apply_conversation(event["conversation"])

    async def visitor_presence(self, event):
        """Another socket of this visitor closed and marked them away: this one is still open.

        By the event's id: this socket may be between joining the visitor's group and its welcome.
        """
        await database_sync_to_async(services.mark_visitor_here)(visitor_id=event["visitor"])

    async def visitor_erased(self, event):
        """The visitor's data was erased: the token is void, so the socket goes too (4401)."""
        await self.send_frame({"type": "data.erased"})
        await self.close(CLOSE_UNAUTHENTICATED)

    async def visitor_blocked(self, event):
        await self.refuse_blocked(event["detail"], event["until"])
