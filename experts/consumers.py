"""The expert dashboard's socket: /ws/v1/expert/ (docs/protocol.md, "Expert socket").

Frames and events; the queue's groups and what this socket has shown of it are
experts/queue_watch.py, what each frame does in the database experts/socket_actions.py.
"""

from django.conf import settings

from chatplatform import protocol
from chatplatform.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ProtocolConsumer
from chatplatform.db import database_sync_to_async
from chatplatform.delivery import ConversationDelivery
from chatplatform.groups import expert_group, user_group
from chatplatform.sockets import SocketLifecycle
from chatplatform.i18n import language_codes, socket_language, supported
from moderation import flood
from visitors import experts_online
from visitors import services as visitor_services
from visitors import store
from visitors.selectors import conversation_objects, message_objects_after

from . import heartbeats, services
from . import socket_actions as actions
from .models import ExpertProfile
from .queue_watch import QueueWatch


class ExpertConsumer(QueueWatch, SocketLifecycle, ConversationDelivery, ProtocolConsumer):
    frames = protocol.EXPERT_FRAMES
    outbound = protocol.EXPERT_OUTBOUND
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
        "conversation.transfer": "expert_action",
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
        self.init_lifecycle()
        self.init_queue_watch()
        self.expert = None
        # Accept first, then read the session (chatplatform/auth.py, deferred): daphne drops a
        # handshake not accepted within 5 s, and in a reconnect storm the database work below
        # may queue for longer.
        await self.accept()
        user, expert, slugs, assigned = await database_sync_to_async(actions._open)(self.scope, self.channel_name)
        if not getattr(user, "is_authenticated", False):
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        if expert is None:
            await self.close(CLOSE_FORBIDDEN)
            return
        self.expert = expert
        self.user = user
        self.language = supported(expert.language) or socket_language(self.scope, language_codes(), settings.LANGUAGE_CODE)
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.expert_id = str(expert.pk)
        self.brand_slugs = slugs
        await self.join_own_group(expert_group(expert.pk))
        await self.join_own_group(user_group(user.pk))
        await self.apply_presence(expert.presence)
        for conversation_id in assigned:  # followed before the welcome's read: nothing in between is missed
            await self.follow(conversation_id)
        state = await database_sync_to_async(actions._welcome_state)(expert)
        await self.adopt(state["conversations"], followed=assigned)
        self.queue_shown = {conversation["id"] for conversation in state["queue"]}
        self.topics = state["topics"]
        await self.send_frame(actions.welcome_frame(expert, state))
        # Presence kept alive, and the backstop for lost revocation events: one beat per process (heartbeats.py).
        heartbeats.join(self)
        await self.ring_if_counted()  # the widgets' "n experts online" (one more socket)

    async def disconnect(self, code):
        if self.expert is None:
            return
        heartbeats.leave(self)
        await database_sync_to_async(services.unregister_connection)(channel_name=self.channel_name)
        await self.end_lifecycle()
        await self.set_queue_groups([])
        await self.unfollow_all()
        await self.ring_if_counted()

    async def ring_if_counted(self) -> None:
        # Only an online expert's sockets are counted (experts/selectors.py): an away or offline
        # dashboard coming and going changes no widget's figure, and a reconnect storm's thousands
        # of them would each publish two doorbells.
        if self.expert.presence == ExpertProfile.Presence.ONLINE:
            await experts_online.ring(self.brand_slugs)

    # --- frames -----------------------------------------------------------------

    async def on_presence_set(self, frame):
        await database_sync_to_async(services.set_presence)(expert=self.expert, status=frame.status)
        await experts_online.ring(self.brand_slugs)
        # Every tab (this one included) hears the change through the expert group.

    async def on_conversation_claim(self, frame):
        await self.apply_conversation(await database_sync_to_async(actions._claim)(self.expert, frame.conversation))

    async def on_conversation_release(self, frame):
        await self.apply_conversation(await database_sync_to_async(actions._release)(self.expert, frame.conversation))

    async def on_conversation_transfer(self, frame):
        await self.apply_conversation(await database_sync_to_async(actions._transfer)(self.expert, frame))

    async def on_conversation_end(self, frame):
        await self.apply_conversation(await database_sync_to_async(actions._end)(self.expert, frame.conversation))

    async def on_message_send(self, frame):
        await self.acknowledge(await store.send_expert_message(
            expert=self.expert, conversation_id=frame.conversation, text=frame.text, client_id=frame.client_id,
            attachment=frame.attachment,
        ))

    async def on_typing(self, frame):
        conversation_id = frame.conversation
        if conversation_id not in self.followed:
            conversation_id = await database_sync_to_async(actions._check_access)(self.expert, conversation_id)
        await visitor_services.relay_typing(conversation_id=conversation_id, author="expert", active=frame.active)

    async def on_read(self, frame):
        await database_sync_to_async(actions._read)(self.expert, frame.conversation, frame.seq)

    async def on_sync(self, frame):
        conversation_id, messages, has_more = await database_sync_to_async(actions._sync)(
            self.expert, frame.conversation, frame.after_seq
        )
        await self.send_frame(protocol.messages_frame(conversation_id, messages, has_more))

    # --- the moderation ladder ------------------------------------------------------

    async def on_moderation_warn(self, frame):
        # The warning reaches both sides as a `message` of kind "warning".
        await database_sync_to_async(actions._warn)(self.expert, frame)

    async def on_moderation_alert(self, frame):
        alert = await database_sync_to_async(actions._alert)(self.expert, frame)
        await self.send_frame(protocol.alert_frame("alert.raised", alert))

    async def on_moderation_block(self, frame):
        block = await database_sync_to_async(actions._block)(self.expert, frame)
        await self.send_frame(protocol.block_created_frame(block))

    async def on_report_file(self, frame):
        reference = await database_sync_to_async(actions._report)(self.expert, frame)
        await self.send_frame(protocol.report_filed_frame(reference))

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

    async def expert_transfer(self, event):
        await self.send_frame(protocol.transferred_frame(event["conversation"], event["from_expert"], event["note"]))

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

    async def expert_presence(self, event):
        await self.send_frame(protocol.presence_frame(event["status"]))
        await self.apply_presence(event["status"])  # then, back online, the queue brought up to date
