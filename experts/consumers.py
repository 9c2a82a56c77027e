"""The expert dashboard's socket: /ws/v1/expert/ (docs/protocol.md, "Expert socket")."""

from chatplatform import protocol
from chatplatform.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ProtocolConsumer
from chatplatform.db import database_sync_to_async
from chatplatform.delivery import ConversationDelivery
from chatplatform.fanout import send_shared
from chatplatform.groups import expert_group, queue_group, user_group
from moderation import flood
from visitors import experts_online
from visitors import services as visitor_services
from visitors import store
from visitors.selectors import conversation_objects, message_objects_after

from . import heartbeats, services
from .socket_actions import (  # noqa: F401 (named here: tests count and replace these trips)
    _alert,
    _block,
    _check_access,
    _claim,
    _end,
    _open,
    _queue_state,
    _read,
    _release,
    _report,
    _sync,
    _warn,
    _welcome_state,
)
from .models import ExpertProfile


class ExpertConsumer(ConversationDelivery, ProtocolConsumer):
    frames = protocol.EXPERT_FRAMES
    side = "expert"
    message_reader = message_objects_after
    conversation_reader = conversation_objects
    # The flood limit (settings.FLOOD_LIMITS) each frame type counts against, per signed-in user,
    # checked before its handler; `ping` costs nothing and is not counted.
    frame_limits = {
        "message.send": "expert_message",
        "typing": "expert_typing",
        "read": "expert_read",
        "sync": "expert_sync",
        "conversation.claim": "expert_action",
        "conversation.release": "expert_action",
        "conversation.end": "expert_action",
        "presence.set": "presence",
        "moderation.warn": "moderation_action",
        "moderation.alert": "moderation_action",
        "moderation.block": "moderation_action",
        "report.file": "moderation_action",
    }

    async def before_frame(self, frame_type):
        if self.expert is not None:
            await flood.check_frame(frame_type, self.frame_limits, user_id=self.user.pk)

    async def connect(self):
        self.init_delivery()
        self.expert = None
        self.queue_groups: list[str] = []
        # The waiting conversations this socket has shown (welcome, queue.added, less queue.removed).
        # None until the welcome: the queue groups are joined before it, with nothing to bring up to date.
        self.queue_shown: set[str] | None = None
        # Accept first, then read the session (chatplatform/auth.py, deferred): daphne drops a
        # handshake not accepted within 5 s, and in a reconnect storm the database work below
        # may queue for longer.
        await self.accept()
        user, expert, slugs, assigned = await database_sync_to_async(_open)(self.scope, self.channel_name)
        if not getattr(user, "is_authenticated", False):
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        if expert is None:
            await self.close(CLOSE_FORBIDDEN)
            return
        self.expert = expert
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.expert_id = str(expert.pk)
        self.brand_slugs = slugs
        await self.channel_layer.group_add(expert_group(expert.pk), self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.apply_presence(expert.presence)
        for conversation_id in assigned:
            await self.follow(conversation_id)
        state = await database_sync_to_async(_welcome_state)(expert)
        for conversation in state["conversations"]:
            await self.follow(conversation["id"])
            self.followed[conversation["id"]] = conversation["last_seq"]
            self.sent_states[conversation["id"]] = conversation
        for conversation_id in assigned:
            if conversation_id not in self.sent_states:
                await self.unfollow(conversation_id)
        self.queue_shown = {conversation["id"] for conversation in state["queue"]}
        await self.send_frame(
            {
                "type": "welcome",
                "expert": {"id": self.expert_id, "display_name": expert.display_name},
                "status": expert.presence,
                "queue": state["queue"],
                "queue_previews": state["previews"],
                "conversations": state["conversations"],
            }
        )
        # Presence kept alive, and the backstop for lost revocation events: one beat per process (heartbeats.py).
        heartbeats.join(self)
        await experts_online.ring(self.brand_slugs)  # the widgets' "n experts online" (one more socket)

    async def disconnect(self, code):
        if self.expert is None:
            return
        heartbeats.leave(self)
        await database_sync_to_async(services.unregister_connection)(channel_name=self.channel_name)
        await self.channel_layer.group_discard(expert_group(self.expert.pk), self.channel_name)
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        await self.set_queue_groups([])
        await self.unfollow_all()
        await experts_online.ring(self.brand_slugs)

    # --- presence ---------------------------------------------------------------

    async def set_queue_groups(self, groups: list[str]) -> None:
        for group in set(self.queue_groups) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(groups) - set(self.queue_groups):
            await self.channel_layer.group_add(group, self.channel_name)
        self.queue_groups = groups

    async def apply_presence(self, status: str) -> None:
        """Only an online expert's sockets are in the brands' queue groups.

        Away or offline, a socket hears nothing of the queue (its list may go
        stale); back online, it is brought up to date with `queue.removed` for
        what went and `queue.added` for what came meanwhile.
        """
        was_online = bool(self.queue_groups)
        self.expert.presence = status
        online = status == ExpertProfile.Presence.ONLINE
        await self.set_queue_groups([queue_group(slug) for slug in self.brand_slugs] if online else [])
        if online and not was_online and self.queue_shown is not None:
            await self.refresh_queue()

    async def refresh_queue(self) -> None:
        queue, previews = await database_sync_to_async(_queue_state)(self.expert)
        waiting = {conversation["id"] for conversation in queue}
        for conversation_id in sorted(self.queue_shown - waiting):
            await self.queue_removed({"conversation": conversation_id})
        for conversation in queue:
            await self.queue_added({"conversation": conversation, "preview": previews.get(conversation["id"], "")})

    # --- frames -----------------------------------------------------------------

    async def on_presence_set(self, frame):
        await database_sync_to_async(services.set_presence)(expert=self.expert, status=frame.status)
        await experts_online.ring(self.brand_slugs)
        # Every tab (this one included) hears the change through the expert group.

    async def on_conversation_claim(self, frame):
        await self.apply_conversation(await database_sync_to_async(_claim)(self.expert, frame.conversation))

    async def on_conversation_release(self, frame):
        await self.apply_conversation(await database_sync_to_async(_release)(self.expert, frame.conversation))

    async def on_conversation_end(self, frame):
        await self.apply_conversation(await database_sync_to_async(_end)(self.expert, frame.conversation))

    async def on_message_send(self, frame):
        await self.acknowledge(await store.send_expert_message(
            expert=self.expert, conversation_id=frame.conversation, text=frame.text, client_id=frame.client_id,
        ))

    async def on_typing(self, frame):
        conversation_id = frame.conversation
        if conversation_id not in self.followed:
            conversation_id = await database_sync_to_async(_check_access)(self.expert, conversation_id)
        await visitor_services.relay_typing(conversation_id=conversation_id, author="expert", active=frame.active)

    async def on_read(self, frame):
        await database_sync_to_async(_read)(self.expert, frame.conversation, frame.seq)

    async def on_sync(self, frame):
        conversation_id, messages, has_more = await database_sync_to_async(_sync)(
            self.expert, frame.conversation, frame.after_seq
        )
        await self.send_frame(protocol.messages_frame(conversation_id, messages, has_more))

    # --- the moderation ladder ------------------------------------------------------

    async def on_moderation_warn(self, frame):
        # The warning reaches both sides as a `message` of kind "warning".
        await database_sync_to_async(_warn)(self.expert, frame)

    async def on_moderation_alert(self, frame):
        alert = await database_sync_to_async(_alert)(self.expert, frame)
        await self.send_frame({"type": "alert.raised", "alert": alert})

    async def on_moderation_block(self, frame):
        block = await database_sync_to_async(_block)(self.expert, frame)
        await self.send_frame({"type": "block.created", "block": block})

    async def on_report_file(self, frame):
        reference = await database_sync_to_async(_report)(self.expert, frame)
        await self.send_frame({"type": "report.filed", "reference": reference})

    # --- state -----------------------------------------------------------------

    async def apply_conversation(self, conversation: dict) -> None:
        """Show a conversation's state; follow it while it is assigned to this expert."""
        conversation_id = conversation["id"]
        if not await self.send_conversation_state(conversation):
            return
        mine = conversation["expert"] is not None and conversation["expert"]["id"] == self.expert_id
        if mine and conversation["status"] == "active":
            if await self.follow(conversation_id, seen=conversation["last_seq"]):
                await self.catch_up(conversation_id)
        else:
            if mine and conversation_id in self.followed:
                await self.catch_up(conversation_id, upto_seq=conversation["last_seq"])
            await self.unfollow(conversation_id)

    # --- channel layer events ------------------------------------------------------

    async def chat_conversation(self, event):
        await self.apply_conversation(event["conversation"])

    async def expert_suspended(self, event):
        await self.send_error("forbidden", "Your expert account has been suspended by a community manager.")
        await self.close(CLOSE_FORBIDDEN)

    async def expert_revoked(self, event):
        """Signed out, password changed, or a brand taken away: say why and close."""
        await self.send_error("forbidden", event["detail"])
        await self.close(event["code"])

    user_revoked = expert_revoked

    async def user_permissions_changed(self, event):
        """The user's groups, staff status or permissions changed (moderation/revocation.py): the heartbeat's check, now."""
        await heartbeats.check_now(self)

    async def layer_resync(self, event):
        await super().layer_resync(event)
        if self.queue_groups and self.queue_shown is not None:
            await self.refresh_queue()

    async def expert_presence(self, event):
        await self.send_frame(protocol.presence_frame(event["status"]))
        await self.apply_presence(event["status"])  # then, back online, the queue brought up to date

    async def queue_added(self, event):
        conversation_id = event["conversation"]["id"]
        if self.expert_id in event.get("excluded", ()) or conversation_id in self.queue_shown:
            return
        self.queue_shown.add(conversation_id)
        # The same frame to every online dashboard: encoded once (chatplatform/fanout.py).
        await send_shared(self, event, "", lambda: protocol.queue_added_frame(event["conversation"], event["preview"]))

    async def queue_updated(self, event):
        if self.queue_shown is not None and event["conversation"]["id"] in self.queue_shown:
            await send_shared(self, event, "", lambda: protocol.queue_updated_frame(event["conversation"]))

    async def queue_removed(self, event):
        self.queue_shown.discard(event["conversation"])
        await send_shared(self, event, "", lambda: protocol.queue_removed_frame(event["conversation"]))
