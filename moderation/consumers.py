"""The community managers' live feed: /ws/v1/moderation/ (docs/protocol.md, "Moderation socket").

The feed re-checks its manager's rights (moderation/revocation.py): when they
change (groups, staff, permissions: `user.permissions_changed`) and every
CHAT_PRESENCE_HEARTBEAT_SECONDS, the backstop for a change no signal saw (a
queryset update, SQL) or an event lost. A manager who lost them is closed
with 4403, one signed out with 4401.
"""

import asyncio
import logging

from django.conf import settings

from chatplatform import errors, protocol
from chatplatform.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ProtocolConsumer
from chatplatform.db import DATABASE_ERRORS, database_sync_to_async
from chatplatform.groups import moderators_group, user_group
from visitors.models import Brand

from . import flood, scoping, selectors, services
from .serializers import alert_object

logger = logging.getLogger(__name__)

# What a failed re-check says, and how the feed closes.
LOST = {
    "signed_out": (CLOSE_UNAUTHENTICATED, "Your session has ended: sign in again."),
    "forbidden": (CLOSE_FORBIDDEN, "You may no longer follow the moderation feed."),
}


def _welcome(user):
    brand_ids = scoping.brand_ids_for(user, fresh=True)
    counts = selectors.counts(brand_ids)
    return protocol.moderation_welcome_frame(
        open_alerts=[alert_object(a) for a in selectors.open_alerts(brand_ids=brand_ids)],
        open_alert_count=counts["open_alerts"], open_reports=counts["open_reports"], active_blocks=counts["active_blocks"],
    )


def _counts_if_visible(user, brand_slug):
    """The counts for this manager's brands, or None when ``brand_slug`` is not one of them.

    Read afresh for every push, so a scope narrowed while the feed is open holds at once.
    """
    brand_ids = scoping.brand_ids_for(user, fresh=True)
    if brand_ids is not None and not Brand.objects.filter(pk__in=brand_ids, slug=brand_slug).exists():
        return None
    return selectors.counts(brand_ids)


def _ack(user, alert_id):
    return alert_object(services.acknowledge_alert(user=user, alert_id=alert_id))


class ModerationConsumer(ProtocolConsumer):
    frames = protocol.MODERATION_FRAMES
    outbound = protocol.MODERATION_OUTBOUND
    # Each `alert.ack` writes and pushes to every manager: counted per user (settings.FLOOD_LIMITS).
    frame_limits = {"alert.ack": "alert_ack"}

    async def before_frame(self, frame_type):
        await flood.check_frame(frame_type, self.frame_limits, user_id=self.user.pk)

    async def connect(self):
        self.user = self.scope.get("user")
        self.joined = False
        self.rechecks = None
        if not getattr(self.user, "is_authenticated", False):
            await self.accept()
            await self.close(CLOSE_UNAUTHENTICATED)
            return
        refusal = await database_sync_to_async(selectors.feed_refusal)(self.user, self.scope.get("session"))
        if refusal is not None:
            # Not a manager: 4403. A manager's session without two-factor sign-in: 4401, sign in again.
            await self.accept()
            await self.close(CLOSE_FORBIDDEN if refusal == "forbidden" else CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        await self.channel_layer.group_add(moderators_group(), self.channel_name)
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        self.joined = True
        await self.send_frame(await database_sync_to_async(_welcome)(self.user))
        self.rechecks = asyncio.ensure_future(self._recheck_every_beat())

    async def disconnect(self, code):
        if self.rechecks is not None and self.rechecks is not asyncio.current_task():
            self.rechecks.cancel()
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(moderators_group(), self.channel_name)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)

    async def on_alert_ack(self, frame):
        alert = await database_sync_to_async(_ack)(self.user, frame.alert)
        await self.send_frame(protocol.alert_frame("alert.updated", alert))

    async def after_refusal(self, exc):
        if exc.code == errors.FORBIDDEN:  # the rights went since the last check: the feed goes too
            await self.recheck()

    # --- the rights, re-checked -------------------------------------------------

    async def recheck(self) -> None:
        verdict = await database_sync_to_async(selectors.feed_still_allowed)(
            session_key=self.session_key, user_id=self.user.pk
        )
        if verdict is not None and self.joined:
            code, detail = LOST[verdict]
            await self.send_error(errors.FORBIDDEN, detail)
            await self.close(code)
            await self._leave_groups()  # at once: no alert reaches it before its disconnect

    async def _recheck_every_beat(self) -> None:
        while self.joined:
            await asyncio.sleep(settings.CHAT_PRESENCE_HEARTBEAT_SECONDS)
            try:
                await self.recheck()
            except asyncio.CancelledError:
                raise
            except DATABASE_ERRORS as exc:  # the database is away for a moment: the next beat tries again
                logger.warning("moderation feed re-check failed (%s); trying again at the next beat", type(exc).__name__)

    # --- pushed ---------------------------------------------------------------

    async def user_permissions_changed(self, event):
        """The manager's groups, staff status or permissions changed: still allowed?"""
        await self.recheck()

    async def user_revoked(self, event):
        """Signed out or password changed: the feed goes with the session."""
        await self.send_error("forbidden", event["detail"])
        await self.close(event["code"])

    async def alert_created(self, event):
        await self.push(protocol.alert_frame("alert.created", event["alert"]), event["alert"]["brand"])

    async def alert_updated(self, event):
        await self.push(protocol.alert_frame("alert.updated", event["alert"]), event["alert"]["brand"])

    async def block_created(self, event):
        await self.push(protocol.block_created_frame(event["block"]), event["block"]["brand"])

    async def report_created(self, event):
        await self.push(protocol.report_created_frame(event["report"]), event["report"]["brand"])

    async def layer_resync(self, event):
        """Pushes may have been lost: a fresh welcome, which the console redraws itself from."""
        await self.send_frame(await database_sync_to_async(_welcome)(self.user))

    async def push(self, frame, brand_slug):
        """Pass a change on to a manager who may see its brand, then the true counts (the console shows them live)."""
        counts = await database_sync_to_async(_counts_if_visible)(self.user, brand_slug)
        if counts is None:
            return
        await self.send_frame(frame)
        await self.send_frame(protocol.counts_frame(counts))
