"""Deliver a conversation's messages to one socket exactly once, in order.

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
"""

import asyncio
import logging
from datetime import datetime, timezone

from chatplatform import protocol
from chatplatform.db import database_sync_to_async
from chatplatform.groups import conversation_group

from .selectors import conversations_with_related, messages_after
from .serializers import conversation_object, message_object


def message_objects_after(conversation_id, after_seq: int, upto_seq: int | None = None) -> list[dict]:
    return [message_object(m) for m in messages_after(conversation_id=conversation_id, after_seq=after_seq, upto_seq=upto_seq)]


fetch_messages = database_sync_to_async(message_objects_after)


def conversation_objects(conversation_ids) -> list[dict]:
    """The current state of conversations a socket already follows."""
    return [conversation_object(c) for c in conversations_with_related(conversation_ids)]


fetch_conversations = database_sync_to_async(conversation_objects)

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


class ConversationDelivery:
    """Mixin for a ProtocolConsumer that follows conversations."""

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
            batch = await fetch_messages(conversation_id, seen, upto_seq)
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
        for conversation in await fetch_conversations(list(self.followed)):
            await self.chat_conversation({"conversation": conversation})
        for conversation_id in list(self.followed):
            await self.catch_up(conversation_id)
