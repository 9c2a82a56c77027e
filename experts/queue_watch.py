"""The expert socket's view of its brands' queues: which groups it hears, and what it has shown.

Only an online expert's sockets are in the brands' queue groups (the fan-out
of experts/queue.py reaches them there). Each socket remembers the waiting
conversations it has shown, so `queue.added` is sent once and a socket back
online (or after a layer resync) is brought up to date from the database.
"""

from chatplatform import protocol
from chatplatform.db import database_sync_to_async
from chatplatform.fanout import send_shared
from chatplatform.groups import queue_group

from . import socket_actions as actions
from . import topic_routing
from .models import ExpertProfile


class QueueWatch:
    """Mixin for the expert socket (it has ``expert``, ``expert_id`` and ``brand_slugs``)."""

    def init_queue_watch(self) -> None:
        self.queue_groups: list[str] = []
        # The waiting conversations this socket has shown (welcome, queue.added, less queue.removed).
        # None until the welcome: the queue groups are joined before it, with nothing to bring up to date.
        self.queue_shown: set[str] | None = None
        self.topics: dict = {}  # {brand slug: the expert's topic slugs there}, read at the welcome (topic_routing.py)

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
        state = await database_sync_to_async(actions._queue_state)(self.expert)
        self.topics = state["topics"]
        waiting = {conversation["id"] for conversation in state["queue"]}
        for conversation_id in sorted(self.queue_shown - waiting):
            await self.queue_removed({"conversation": conversation_id})
        for conversation in state["queue"]:
            await self.queue_added({"conversation": conversation, "preview": state["previews"].get(conversation["id"], ""),
                                    "offer": state["offers"][conversation["id"]]})

    async def layer_resync(self, event):
        await super().layer_resync(event)
        if self.queue_groups and self.queue_shown is not None:
            await self.refresh_queue()

    async def queue_added(self, event):
        conversation_id = event["conversation"]["id"]
        if self.expert_id in event.get("excluded", ()) or conversation_id in self.queue_shown:
            return
        offer = event.get("offer") or topic_routing.offer_for(event["conversation"], event.get("wave", "brand"), self.topics)
        if offer is None:
            return  # another topic's question, for now (topic_routing.py)
        self.queue_shown.add(conversation_id)
        # The same frame to every online dashboard given the same kind of offer: encoded once (chatplatform/fanout.py).
        await send_shared(self, event, offer, lambda: protocol.queue_added_frame(event["conversation"], event["preview"], offer))

    async def queue_updated(self, event):
        if self.queue_shown is not None and event["conversation"]["id"] in self.queue_shown:
            await send_shared(self, event, "", lambda: protocol.queue_updated_frame(event["conversation"]))

    async def queue_removed(self, event):
        self.queue_shown.discard(event["conversation"])
        await send_shared(self, event, "", lambda: protocol.queue_removed_frame(event["conversation"]))
