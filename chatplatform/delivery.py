"""The socket machinery both chat sockets share: messages by seq, states, typing, read marks, acknowledgements.

Deliver a conversation's messages to one socket exactly once, in order.

The channel layer is only the doorbell: it may drop events (a full channel) or
hand them over out of order (two processes). Each socket remembers the highest
``seq`` it has delivered per conversation; an event at or below it is a
duplicate and is skipped, one beyond the next expected seq means something was
missed, and the missing messages are read from the database before it. So a
client sees every message once, in seq order, whatever the layer did.

A drop at the END of a burst leaves no later event to reveal the gap. The
pub/sub layer (chatplatform/layers.py) says when it dropped: the socket gets
``layer.resync`` and reads back every conversation it follows. On the layers
that drop silently, a socket that finds itself behind (it delivers a message
more than LAG_SECONDS after it was stored: its channel was backing up, the
layer may have dropped what came after) checks the database once more
shortly afterwards.

The reads come from the app (chatplatform imports none): a socket class names
them as ``message_reader`` (conversation id, after seq, up to seq -> message
objects) and ``conversation_reader`` (ids -> conversation objects), both
synchronous, run in the database thread.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from chatplatform import protocol
from chatplatform.db import database_sync_to_async
from chatplatform.errors import ChatError
from chatplatform.groups import conversation_group

logger = logging.getLogger(__name__)

# A message delivered later than this after it was stored means the socket fell behind.
LAG_SECONDS = 1.0
# How long to let the backlog drain before reading the conversation's tail from the database.
SETTLE_SECONDS = 0.5


def _age(message: dict) -> float:
    try:
        created = datetime.fromisoformat(message["created_at"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return 0.0
    return (datetime.now(timezone.utc) - created).total_seconds()


# --- what the message store answers (visitors/store.py) ---------------------------------------

@dataclass(frozen=True, slots=True)
class Stored:
    """Stored now, as the next message of its conversation (its doorbell rings after commit)."""

    message: dict  # the protocol's Message object, built where the row was read (loop or thread)


@dataclass(frozen=True, slots=True)
class Retry:
    """Its client id was stored before: that message (not a second one), its doorbell rung again."""

    message: dict


@dataclass(frozen=True, slots=True)
class Refused:
    """Not stored, and why (the protocol's error)."""

    error: ChatError


class ConversationDelivery:
    """Mixin for a ProtocolConsumer that follows conversations."""

    #: Which side this socket speaks for ("visitor" or "expert"): its own typing is not echoed back.
    side: str = ""
    #: The app's reads (module docstring); plain functions, wrapped once per class below.
    message_reader = None
    conversation_reader = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("message_reader") is not None:
            cls.fetch_messages = staticmethod(database_sync_to_async(cls.__dict__["message_reader"]))
        if cls.__dict__.get("conversation_reader") is not None:
            cls.fetch_conversations = staticmethod(database_sync_to_async(cls.__dict__["conversation_reader"]))

    def init_delivery(self) -> None:
        # conversation id -> highest seq this socket has delivered
        self.followed: dict[str, int] = {}
        # conversation id -> the last conversation object sent, to skip repeats
        self.sent_states: dict[str, dict] = {}
        # conversation id -> the pending tail check of a socket that fell behind
        self.settling: dict[str, asyncio.Task] = {}

    async def follow(self, conversation_id: str, seen: int = 0) -> bool:
        """Join the conversation's group; return True if it was not followed yet."""
        if conversation_id in self.followed:
            return False
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        self.followed[conversation_id] = seen
        return True

    async def adopt(self, conversations: list[dict], seen: int | None = None, followed=()) -> None:
        """Take the conversations a welcome shows as this socket's: followed, as delivered up to ``seen``
        (or their last seq), their states as sent. Those in ``followed`` (joined before the welcome's
        read so nothing in between is missed) that the welcome does not show are left again."""
        for conversation in conversations:
            conversation_id = conversation["id"]
            await self.follow(conversation_id)
            last_seq = conversation["last_seq"]
            self.followed[conversation_id] = last_seq if seen is None else min(seen, last_seq)
            self.sent_states[conversation_id] = conversation
        shown = {conversation["id"] for conversation in conversations}
        for conversation_id in followed:
            if conversation_id and conversation_id not in shown:
                await self.unfollow(conversation_id)

    async def unfollow(self, conversation_id: str) -> None:
        task = self.settling.pop(conversation_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if self.followed.pop(conversation_id, None) is not None:
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)

    async def unfollow_all(self) -> None:
        for conversation_id in list(self.followed):
            await self.unfollow(conversation_id)

    async def catch_up(self, conversation_id: str, upto_seq: int | None = None) -> None:
        """Send, from the database, what this socket has not delivered yet (up to ``upto_seq``)."""
        while conversation_id in self.followed:
            seen = self.followed[conversation_id]
            if upto_seq is not None and seen >= upto_seq:
                return
            batch = await self.fetch_messages(conversation_id, seen, upto_seq)
            if not batch:
                return
            for message in batch:
                await self._send_in_order(message)
            if self.followed.get(conversation_id) == seen:
                return  # nothing new could be placed (never expected: seqs have no gaps)

    async def deliver_message(self, message: dict) -> None:
        """Deliver one message event: skip it if seen, fill any gap before it first."""
        conversation_id = message["conversation"]
        seen = self.followed.get(conversation_id)
        if seen is None or message["seq"] <= seen:
            return
        if message["seq"] > seen + 1:
            await self.catch_up(conversation_id, upto_seq=message["seq"] - 1)
        await self._send_in_order(message)
        if getattr(self.channel_layer, "reports_drops", False):
            return  # a drop brings `layer.resync`: no need to guess from lateness (and to read under load)
        if _age(message) > LAG_SECONDS and conversation_id not in self.settling:
            self.settling[conversation_id] = asyncio.ensure_future(self._settle(conversation_id))

    async def _settle(self, conversation_id: str) -> None:
        """Once the backlog had a moment to drain, deliver whatever the layer may have dropped."""
        try:
            await asyncio.sleep(SETTLE_SECONDS)
            self.settling.pop(conversation_id, None)
            await self.catch_up(conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away meanwhile; a reconnect resumes from last_seq
            logger.debug("tail check after a backlog failed", exc_info=True)

    async def _send_in_order(self, message: dict) -> None:
        conversation_id = message["conversation"]
        if message["seq"] != self.followed.get(conversation_id, -1) + 1:
            return
        # Marked before the write: a tail check running beside a live delivery never sends it twice.
        self.followed[conversation_id] = message["seq"]
        await self.send_frame(protocol.message_frame(message))

    async def send_conversation_state(self, conversation: dict) -> bool:
        """Send a `conversation` frame unless this exact state was the last one sent."""
        if self.sent_states.get(conversation["id"]) == conversation:
            return False
        self.sent_states[conversation["id"]] = conversation
        await self.send_frame(protocol.conversation_frame(conversation))
        return True

    async def chat_message(self, event: dict) -> None:
        await self.deliver_message(event["message"])

    async def layer_resync(self, event: dict) -> None:
        """The layer lost events (its subscription was down): read back state and messages."""
        if not self.followed:
            return
        for conversation in await self.fetch_conversations(list(self.followed)):
            await self.chat_conversation({"conversation": conversation})
        for conversation_id in list(self.followed):
            await self.catch_up(conversation_id)

    async def chat_typing(self, event: dict) -> None:
        if event["author"] != self.side and event["conversation"] in self.followed:
            await self.send_frame(protocol.typing_frame(event["conversation"], event["author"], event["active"]))

    async def chat_read(self, event: dict) -> None:
        if event["conversation"] in self.followed:
            await self.send_frame(protocol.read_frame(event["conversation"], event["reader"], event["seq"]))

    async def acknowledge(self, outcome: Stored | Retry | Refused) -> None:
        """Answer a `message.send` with what the store did (a refusal is the frame's error)."""
        if isinstance(outcome, Refused):
            raise outcome.error
        message = outcome.message
        if isinstance(outcome, Stored) and message["conversation"] in self.followed:
            await self.deliver_message(message)  # the acknowledgement is the delivery, in seq order
        else:
            # A retry's acknowledgement is the stored message, whatever was delivered before.
            await self.send_frame(protocol.message_frame(message))
