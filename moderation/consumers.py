"""The community managers' live feed: /ws/v1/moderation/ (docs/protocol.md, "Moderation socket")."""

from chatplatform import protocol
from chatplatform.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ProtocolConsumer
from chatplatform.db import database_sync_to_async
from chatplatform.groups import moderators_group, user_group

from . import flood, selectors, services
from .serializers import alert_object


def _welcome():
    return {
        "type": "welcome",
        "open_alerts": [alert_object(a) for a in selectors.open_alerts()],
        "open_reports": selectors.open_report_count(),
        "active_blocks": selectors.active_block_count(),
    }


def _ack(user, alert_id):
    return alert_object(services.acknowledge_alert(user=user, alert_id=alert_id))


class ModerationConsumer(ProtocolConsumer):
    frames = protocol.MODERATION_FRAMES
    # Each `alert.ack` writes and pushes to every manager: counted per user (settings.FLOOD_LIMITS).
    frame_limits = {"alert.ack": "alert_ack"}

    async def before_frame(self, frame_type):
        await flood.check_frame(frame_type, self.frame_limits, user_id=self.user.pk)

    async def connect(self):
        self.user = self.scope.get("user")
        self.joined = False
        if not getattr(self.user, "is_authenticated", False):
            await self.accept()
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(selectors.can_moderate)(self.user):
            await self.accept()
            await self.close(CLOSE_FORBIDDEN)
            return
        await self.accept()
        await self.channel_layer.group_add(moderators_group(), self.channel_name)
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        self.joined = True
        await self.send_frame(await database_sync_to_async(_welcome)())

    async def disconnect(self, code):
        if self.joined:
            await self.channel_layer.group_discard(moderators_group(), self.channel_name)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)

    async def on_alert_ack(self, frame):
        alert = await database_sync_to_async(_ack)(self.user, frame.alert)
        await self.send_frame({"type": "alert.updated", "alert": alert})

    # --- pushed ---------------------------------------------------------------

    async def user_revoked(self, event):
        """Signed out or password changed: the feed goes with the session."""
        await self.send_error("forbidden", event["detail"])
        await self.close(event["code"])

    async def alert_created(self, event):
        await self.send_frame({"type": "alert.created", "alert": event["alert"]})

    async def alert_updated(self, event):
        await self.send_frame({"type": "alert.updated", "alert": event["alert"]})

    async def block_created(self, event):
        await self.send_frame({"type": "block.created", "block": event["block"]})

    async def report_created(self, event):
        await self.send_frame({"type": "report.created", "report": event["report"]})
