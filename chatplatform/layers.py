"""The channel layers on Redis: channels-redis's, made quiet about outages, and one on pub/sub.

``ChatRedisChannelLayer`` (``CHANNEL_LAYER=redis``) is channels-redis's default
layer with one change: after handing over an event it drops the event's backup
copy in a task nobody awaits, and when Redis goes away under that task asyncio
logs "Task exception was never retrieved" with a traceback. Here the task says
so in one warning line; the backup copy stays, and at worst an event is handed
over twice, which every socket skips (by seq and by conversation state).

``ChatPubSubChannelLayer`` (``CHANNEL_LAYER=pubsub``, docs/performance.md):

channels-redis's default layer keeps each socket's inbox in Redis: a
``group_send`` runs a script over every member's inbox and every socket polls
its own with ``BZPOPMIN``, several round trips per event. Its pub/sub layer
publishes an event once per group; each server process holds one subscription
and hands the event to its own sockets in memory. The stock pub/sub layer
needs three changes to fit this project, made here:

* publishing does not queue behind one lock per Redis server (the stock layer
  shares one lock between publishing and subscribing, so a burst of sockets
  subscribing holds up every event);
* each socket's inbox is bounded (``capacity``, as with the default layer):
  past it an event is dropped, and the socket is told so: once it has read one
  event (so there is room), it gets a ``layer.resync`` and refills what it
  missed from the database by ``seq``. The other layers drop silently, so
  there a socket that falls behind checks the database after a while instead
  (chatplatform/delivery.py);
* when the subscription is lost (Redis restarted, network cut) the receiver
  says so in one warning line, reconnects, and once subscribed again hands
  every socket of the process a ``layer.resync`` event: each reads back from
  the database whatever was published while nobody listened. The database is
  the truth; the layer is only the doorbell.

Group membership lives in the process, so nothing is left behind in Redis
when a process dies. A group event is decoded once for all its members in the
process (``SharedEvent``, chatplatform/fanout.py), not once per socket.
"""

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, decode_hosts
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chatplatform.db import SOCKET_OPENED
from chatplatform.fanout import SharedEvent

logger = logging.getLogger(__name__)

# Handed to every socket of the process after the subscription came back.
RESYNC_EVENT = {"type": "layer.resync"}
RECONNECT_PAUSE_SECONDS = 0.2
_OUTAGE = (OSError, RedisConnectionError, RedisTimeoutError)


class ChatRedisChannelLayer(RedisChannelLayer):
    """channels-redis's default layer; an outage under its backup clean-up is one warning line."""

    async def _clean_receive_backup(self, index, channel):
        try:
            await super()._clean_receive_backup(index, channel)
        except _OUTAGE as exc:
            logger.warning("channel layer unreachable (%s); an event's backup copy was kept", type(exc).__name__)


class ChatPubSubChannelLayer(RedisPubSubChannelLayer):
    """Channels' pub/sub layer with bounded inboxes, unserialised publishing and a resync after outages."""

    #: A socket whose events were dropped receives ``layer.resync`` (read by chatplatform/delivery.py).
    reports_drops = True

    def __init__(self, *args, capacity: int = 1000, **kwargs):
        super().__init__(*args, **kwargs)
        self.capacity = capacity

    def deserialize(self, message):
        # A group event arrives decoded once for all its member sockets (_Shard._receive_message).
        if type(message) is SharedEvent:
            return message
        return super().deserialize(message)

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, prefix="asgi", channel_layer=None, **kwargs):
        super().__init__(hosts=hosts, prefix=prefix, channel_layer=channel_layer, **kwargs)
        self.capacity = channel_layer.capacity
        self.dropped = 0
        # Channels that lost events since they last read one: each gets `layer.resync` when it reads next.
        self.lossy: set[str] = set()
        self._resync = self.channel_layer.serialize(RESYNC_EVENT)
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    async def _subscribe_to_channel(self, channel):
        self.channels[channel] = asyncio.Queue(maxsize=self.capacity)
        if SOCKET_OPENED.get() is not None:
            # A chat socket's own channel: its groups' events reach it in memory, and nothing
            # sends to the channel itself, so its handshake does not wait for the SUBSCRIBE.
            self._get_shard(channel).subscribe_soon(channel)
        else:
            await self._get_shard(channel).subscribe(channel)

    def deliver(self, channel: str, data) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            return
        try:
            queue.put_nowait(data)
        except asyncio.QueueFull:  # a socket that stopped reading: told at its next read, it refills from the database
            self.dropped += 1
            self.lossy.add(channel)

    async def receive(self, channel):
        try:
            message = await super().receive(channel)
        except BaseException:  # the socket is going away (its channel too)
            self.lossy.discard(channel)
            raise
        if channel in self.lossy:  # one event was just taken out, so there is room for the news
            self.lossy.discard(channel)
            self.deliver(channel, self._resync)
        return message

    async def forget_channel(self, channel: str) -> None:
        """Drop a channel this process made for itself (the health check's), subscription included."""
        self.lossy.discard(channel)
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)

    def resync_all(self) -> None:
        for channel in list(self.channels):
            self.deliver(channel, self._resync)


def _tell_closing(waiters) -> None:
    for future, _channel in waiters:
        if not future.done():
            future.set_exception(RedisConnectionError("the channel layer is closing"))


class _Shard(RedisSingleShardConnection):
    """One Redis server's subscription, with (un)subscriptions sent in batches.

    The stock shard sends one SUBSCRIBE or UNSUBSCRIBE per call, each behind
    one lock. Every socket subscribes its own channel and its groups when it
    opens and unsubscribes them when it closes, so when thousands reconnect at
    once they queue on that lock, and a busy event loop hands the lock on once
    per turn: a reconnect storm of 4,000 sockets took minutes. Here a call only
    records what it wants; one task sends everything asked for since its last
    turn in one command (``BATCH`` channels at most), in order. ``subscribe``
    returns once its channel's SUBSCRIBE is sent, as the stock one does;
    ``unsubscribe`` returns at once (a socket going away must not wait, and a
    subscription left over only costs its events being dropped here).
    """

    BATCH = 1000

    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._wanted: dict[str, bool] = {}  # channel -> subscribe (True) or unsubscribe (False), not yet sent
        self._waiters: list[tuple[asyncio.Future, str]] = []
        self._sending: set[str] = set()
        self._sender: asyncio.Task | None = None

    async def subscribe(self, channel):
        """Subscribe, or raise a Redis connection error: a socket that cannot hear must reconnect.

        While the receiver re-connects the subscription's connection after an
        outage, redis-py may fail a concurrent SUBSCRIBE with errors of its own
        (an AttributeError on a connection torn down under it). The consumer
        turns a Redis connection error into a close that says "reconnect" (1012).
        """
        if channel in self._subscribed_to and channel not in self._wanted and channel not in self._sending:
            return
        future = asyncio.get_running_loop().create_future()
        self._wanted[channel] = True
        self._waiters.append((future, channel))
        self._start_sender()
        await future

    def subscribe_soon(self, channel) -> None:
        """Subscribe in the next batch, without waiting for it (nobody waits to hear on it yet)."""
        if channel not in self._subscribed_to or channel in self._wanted:
            self._wanted[channel] = True
            self._start_sender()

    async def unsubscribe(self, channel):
        if channel in self._subscribed_to or self._wanted.get(channel):
            self._wanted[channel] = False
            self._start_sender()

    async def settled(self) -> None:
        """Wait until everything asked for so far has been sent (tests, shutdown)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    def _start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_wanted())

    async def _send_wanted(self) -> None:
        try:
            async with self._lock:
                await self._send_batches()
        except BaseException:  # cancelled (the loop is closing): nobody may wait for ever
            _tell_closing(self._waiters)
            self._waiters = []
            raise

    async def _send_batches(self) -> None:
        while self._wanted:
            wanted, self._wanted = self._wanted, {}
            waiters, self._waiters = self._waiters, []
            subscribe = [c for c, on in wanted.items() if on and c not in self._subscribed_to]
            unsubscribe = [c for c, on in wanted.items() if not on and c in self._subscribed_to]
            # What is being sent counts as done for the calls that come meanwhile (they queue after it).
            self._subscribed_to.update(subscribe)
            self._subscribed_to.difference_update(unsubscribe)
            self._sending = set(subscribe)
            failure = None
            try:
                self._ensure_redis()
                self._ensure_receiver()
                for i in range(0, len(unsubscribe), self.BATCH):
                    await self._pubsub.unsubscribe(*unsubscribe[i : i + self.BATCH])
                for i in range(0, len(subscribe), self.BATCH):
                    await self._pubsub.subscribe(*subscribe[i : i + self.BATCH])
            except RedisConnectionError as exc:
                failure = exc
            except Exception as exc:
                logger.warning("channel layer subscription failed (%s); the socket is told to reconnect", type(exc).__name__)
                failure = RedisConnectionError("the channel layer's subscription is reconnecting")
                failure.__cause__ = exc
            except BaseException:  # cancelled mid-send: this batch's callers hear it too
                _tell_closing(waiters)
                raise
            finally:
                self._sending = set()
            if failure is not None:
                # Not subscribed after all: the next ask sends it again.
                self._subscribed_to.difference_update(subscribe)
            for future, channel in waiters:
                if future.done():
                    continue
                if failure is not None and channel in subscribe:
                    future.set_exception(failure)
                else:
                    future.set_result(None)

    async def publish(self, channel, message):
        # No lock: the pool gives each publish its own connection. A group's events
        # stay in order because chatplatform.events awaits each before the next.
        self._ensure_redis()
        await self._redis.publish(channel, message)

    async def _do_receiving(self):
        lost = False
        while True:
            if not (self._pubsub and self._pubsub.subscribed):
                await asyncio.sleep(0.1)
                continue
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                # Any failure to read (a Redis error, or redis-py's own while a SUBSCRIBE reconnects the
                # same connection) may have lost events: the resync after it makes that safe.
                if not lost:
                    logger.warning("channel layer subscription lost (%s); reconnecting", type(exc).__name__)
                lost = True
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
                continue
            if lost:
                # get_message reconnected and re-subscribed: catch up on what went unheard.
                lost = False
                logger.warning("channel layer subscription restored; every socket re-reads from the database")
                self.channel_layer.resync_all()
            try:
                self._receive_message(message)
            except Exception:
                logger.exception("unexpected error handing over a channel layer event")

    def _receive_message(self, message):
        if message is None:
            return
        name, data = message["channel"], message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        if name in layer.channels:
            layer.deliver(name, data)
            return
        members = layer.groups.get(name, ())
        if len(members) > 1:
            # Decoded once for every member, not once per socket (chatplatform/fanout.py).
            data = SharedEvent(layer.channel_layer.deserialize(data))
        for channel_name in members:
            layer.deliver(channel_name, data)
