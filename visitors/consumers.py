"""The visitor widget's socket: /ws/v1/visitor/<brand_slug>/ (docs/protocol.md, "Visitor socket").

Frames and events of an open session; how the session opens (admission, hello)
and closes is visitors/session.py, what each frame does in the database
visitors/socket_actions.py, a chat message's storing visitors/store.py.
"""

import logging

from chatplatform import errors, protocol
from chatplatform.consumers import CLOSE_FORBIDDEN, CLOSE_PROTOCOL, CLOSE_TOO_MANY, CLOSE_UNAUTHENTICATED, ProtocolConsumer
from chatplatform.db import database_sync_to_async
from chatplatform.fanout import send_shared
from chatplatform.delivery import ConversationDelivery
from chatplatform.errors import ChatError
from moderation import abuse, flood
from moderation import services as moderation_services

from . import selectors, services, store
from . import socket_actions as actions
from .models import OPEN_STATUSES
from .session import VisitorSession

logger = logging.getLogger(__name__)


class VisitorConsumer(VisitorSession, ConversationDelivery, ProtocolConsumer):
    frames = protocol.VISITOR_FRAMES
    outbound = protocol.VISITOR_OUTBOUND
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
        await self.admit()

    async def disconnect(self, code):
        await self.leave()

    async def before_frame(self, frame_type):
        """What every frame passes first: the block, the hello, the frame's flood limit."""
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

    async def send_frame(self, frame: dict) -> None:
        await super().send_frame(actions.visitor_view(frame))

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

    # --- frames -----------------------------------------------------------------

    async def on_hello(self, frame):
        if self.visitor is not None:
            raise ChatError(errors.INVALID_FRAME, "`hello` was already sent on this socket.")
        await self.hello(frame)

    async def on_conversation_start(self, frame):
        conversation, first = await database_sync_to_async(actions._start)(
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
            flagged=self.flagged(frame.text), note_flagged=actions._note_flagged, attachment=frame.attachment,
        )
        await self.acknowledge(outcome)

    async def on_typing(self, frame):
        if self.open_conversation_id is None:
            raise ChatError(errors.NO_CONVERSATION, "You have no open conversation.")
        await services.relay_typing(conversation_id=self.open_conversation_id, author="visitor", active=frame.active)

    async def on_read(self, frame):
        await database_sync_to_async(actions._read)(self.visitor, self.blocks, frame.seq)

    async def on_sync(self, frame):
        conversation_id, messages, has_more = await database_sync_to_async(actions._sync)(self.visitor, self.blocks, frame.after_seq)
        await self.send_frame(protocol.messages_frame(conversation_id, messages, has_more))

    async def on_conversation_end(self, frame):
        await self.reply_with(await database_sync_to_async(actions._end)(self.visitor, self.blocks))

    async def on_conversation_rate(self, frame):
        await self.reply_with(await database_sync_to_async(actions._rate)(self.visitor, self.blocks, frame))

    async def on_conversation_next_expert(self, frame):
        await self.reply_with(await database_sync_to_async(actions._next_expert)(self.visitor, self.blocks))

    async def reply_with(self, conversation: dict) -> None:
        """Apply a state the client asked for, and answer even when it changed nothing."""
        if not await self.apply_conversation(conversation):
            await self.send_frame(protocol.conversation_frame(conversation))

    async def on_report_file(self, frame):
        reference = await database_sync_to_async(actions._report)(self.visitor, self.blocks, frame)
        await self.send_frame(protocol.report_filed_frame(reference))

    async def on_data_export(self, frame):
        await self.send_frame(protocol.data_export_frame(await database_sync_to_async(actions._export)(self.visitor, self.blocks)))

    async def on_contact_set(self, frame):
        email = await database_sync_to_async(actions._set_contact)(self.visitor, self.blocks, frame.email)
        await self.send_frame(protocol.contact_frame(email))

    async def on_transcript_send(self, frame):
        conversation_id = await database_sync_to_async(actions._transcript)(self.visitor, self.blocks)
        await self.send_frame(protocol.transcript_queued_frame(conversation_id))

    async def on_data_erase(self, frame):
        # Every tab of the visitor (this one too) hears `visitor.erased` and closes.
        await database_sync_to_async(actions._erase)(self.visitor, self.blocks)

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
        await self.send_frame(protocol.data_erased_frame())
        await self.close(CLOSE_UNAUTHENTICATED)

    async def visitor_blocked(self, event):
        await self.refuse_blocked(event["detail"], event["until"])
