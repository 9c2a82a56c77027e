""""n experts online" kept true in every open widget: one watcher per server process, not per socket.

The visitor's `welcome` says how many experts are online; while the widget is
open the figure changes (an expert goes online, away or offline, opens or
closes the dashboard, is suspended, or their server process dies). Each change
rings a doorbell, ``ring(brand_slugs)``: one channel-layer event to the brand's
``experts_online_group``, whose only members are these watchers, one per server
process (event loop) that has visitor sockets of the brand open. The doorbell
carries no figure; the watcher counts (one query for every brand rung within
CHAT_ONLINE_PUSH_SECONDS, so a burst of doorbells costs one read per process)
and sends `experts.online` to each of its sockets of the brand whose figure
changed. Every CHAT_PRESENCE_HEARTBEAT_SECONDS it counts its brands again
anyway: an expert whose process died rings nothing (their presence rows go
stale), and a missed doorbell is set right there.

The count is ``experts.selectors.experts_online_counts``: the brand's experts
who chose online, are not suspended and have a live dashboard socket, which are
exactly those the brand's questions are offered to (routing has no topics;
an expert at capacity is counted: the question waits in their queue).
"""

import asyncio
import logging
import weakref

from channels.layers import get_channel_layer
from django.conf import settings

from chatplatform import protocol
from chatplatform.db import database_sync_to_async
from chatplatform.fanout import SharedEvent
from chatplatform.groups import experts_online_group

logger = logging.getLogger(__name__)

DOORBELL = "experts.changed"


async def ring(brand_slugs) -> None:
    """The experts online of these brands may have changed: the processes with their widgets open count again."""
    layer = get_channel_layer()
    for slug in dict.fromkeys(brand_slugs):
        try:
            await layer.group_send(experts_online_group(slug), {"type": DOORBELL, "brand": slug})
        except Exception as exc:  # the layer is away: the watchers' periodic count sets it right
            logger.warning("experts-online doorbell failed (%s)", type(exc).__name__)


# The count reads the experts app's tables, which this module (visitors) does not import
# (docs/architecture.md, "Layers"): the experts app names its readers when it is ready (experts/apps.py).
_counter = None
_shared_counter = None


def count_with(counter, shared_counter=None) -> None:
    """Name the readers of the counts: ``counter(brand_ids) -> {brand_id: count}`` (in the database
    thread) and ``await shared_counter(brand) -> count`` (the handshakes' figure, shared by the process)."""
    global _counter, _shared_counter
    _counter = counter
    _shared_counter = shared_counter


def _count(brand_ids) -> dict:
    return _counter(brand_ids)


async def figure(brand) -> int | None:
    """The figure a welcome shows: the one this process's watcher keeps current, else the shared count."""
    known = known_count(brand.pk)
    if known is not None or _shared_counter is None:
        return known
    return await _shared_counter(brand)


class _Watcher:
    """The visitor sockets of one event loop, by brand, and the figure each was last shown."""

    def __init__(self, layer):
        self.layer = layer
        self.sockets: dict[int, set] = {}  # brand id -> visitor consumers
        self.slugs: dict[int, str] = {}  # brand id -> slug (the group joined)
        self.counts: dict[int, int] = {}  # brand id -> the figure last counted
        self.channel: str | None = None
        self.pending: set[int] = set()  # brands rung since the last count
        self.tasks: list[asyncio.Task] = []
        self.flush: asyncio.TimerHandle | None = None
        self.lock = asyncio.Lock()

    async def add(self, consumer) -> None:
        async with self.lock:  # a burst of handshakes: one channel, one group_add per brand
            await self._add(consumer)

    async def discard(self, consumer) -> None:
        async with self.lock:
            await self._discard(consumer)

    async def _add(self, consumer) -> None:
        brand = consumer.brand
        try:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.tasks = [asyncio.ensure_future(self._listen()), asyncio.ensure_future(self._recount_now_and_then())]
        except Exception as exc:  # the layer is away: this socket keeps its welcome's figure
            logger.warning("experts-online watcher could not start (%s)", type(exc).__name__)
            return
        members = self.sockets.setdefault(brand.pk, set())
        members.add(consumer)
        if len(members) == 1:
            self.slugs[brand.pk] = brand.slug
            try:
                await self.layer.group_add(experts_online_group(brand.slug), self.channel)
            except Exception as exc:  # no doorbells for this brand: the periodic count still runs
                logger.warning("experts-online watcher could not join a group (%s)", type(exc).__name__)

    async def _discard(self, consumer) -> None:
        brand_id = consumer.brand.pk
        members = self.sockets.get(brand_id)
        if not members or consumer not in members:
            return
        members.discard(consumer)
        if not members:
            del self.sockets[brand_id]
            self.counts.pop(brand_id, None)
            slug = self.slugs.pop(brand_id)
            try:
                await self.layer.group_discard(experts_online_group(slug), self.channel)
            except Exception as exc:  # the membership expires with the layer's group expiry
                logger.warning("experts-online watcher could not leave a group (%s)", type(exc).__name__)
        if not self.sockets:
            await self.stop()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        if self.flush is not None:
            self.flush.cancel()
            self.flush = None
        channel, self.channel = self.channel, None
        forget = getattr(self.layer, "forget_channel", None)  # the pub/sub layer subscribed it
        if channel is not None and forget is not None:
            try:
                await forget(channel)
            except Exception:
                pass

    async def _listen(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the layer is away: the periodic count carries on
                logger.warning("experts-online watcher could not read its doorbells (%s)", type(exc).__name__)
                await asyncio.sleep(1)
                continue
            slug = event.get("brand")
            rung = [pk for pk, s in self.slugs.items() if s == slug] if event.get("type") == DOORBELL else list(self.sockets)
            self.pending.update(rung)  # anything else (a resync after lost events): every brand
            if self.pending and self.flush is None:
                self.flush = asyncio.get_running_loop().call_later(
                    settings.CHAT_ONLINE_PUSH_SECONDS, lambda: asyncio.ensure_future(self._count_pending())
                )

    async def _count_pending(self) -> None:
        self.flush = None
        brands, self.pending = self.pending, set()
        await self.recount(brands)

    async def _recount_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT_PRESENCE_HEARTBEAT_SECONDS)
            await self.recount(set(self.sockets))

    async def recount(self, brand_ids) -> None:
        brand_ids = [pk for pk in brand_ids if pk in self.sockets]
        if not brand_ids:
            return
        try:
            counts = await database_sync_to_async(_count)(brand_ids)
        except Exception as exc:  # the database is away for a moment: the next count sets it right
            logger.warning("experts-online count failed (%s)", type(exc).__name__)
            return
        for brand_id in brand_ids:
            count = counts.get(brand_id, 0)
            self.counts[brand_id] = count
            # One frame for every widget of the brand in this process: encoded once (chatplatform/fanout.py).
            shared = SharedEvent(count=count)
            for consumer in list(self.sockets.get(brand_id, ())):
                await consumer.show_experts_online(count, shared)

    def known(self, brand_id) -> int | None:
        return self.counts.get(brand_id)


_watchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watcher]" = weakref.WeakKeyDictionary()


def _watcher() -> _Watcher:
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    watcher = _watchers.get(loop)
    if watcher is None or watcher.layer is not layer:
        watcher = _watchers[loop] = _Watcher(layer)
    return watcher


async def watch(consumer) -> None:
    """Keep ``consumer`` (a visitor socket past its welcome, with ``brand`` and ``show_experts_online``) told."""
    await _watcher().add(consumer)


async def unwatch(consumer) -> None:
    await _watcher().discard(consumer)


def known_count(brand_id) -> int | None:
    """The figure this process last counted for the brand while watching it, or None."""
    watcher = _watchers.get(asyncio.get_running_loop())
    return watcher.known(brand_id) if watcher is not None else None
