"""The one way events leave the services: on the channel layer, after commit.

Grep for ``send_event_on_commit`` and you have every event source. Events go
out only once the transaction that made them true has committed, so no socket
ever hears of a message that is not in the database.

Inside the server the services run in Channels' database thread, and the
channel layer lives on the event loop. Blocking the one database thread on
the layer's Redis round trips (``async_to_sync``) made every socket's
database work wait for them too; so from that thread the events are handed
to the event loop and the thread goes on. On the loop, events to one group
leave one after another in the order their transactions committed (so a
conversation's messages reach Redis in seq order), different groups in
parallel. Outside the server (a management command, a plain script) there is
no such loop and the send blocks as before.

Coalescing: an event sent with ``coalesce=key`` (a queued conversation's
``queue.updated``, to every online expert of the brand) leaves at once if no
event of that key left its group within ``CHAT_COALESCE_SECONDS``; otherwise it
waits for the end of that window, and a newer one of the same key replaces it
meanwhile: a burst of N changes becomes at most one event a window per key,
the last state always sent. An event sent with ``supersedes=key`` (the
conversation added to or removed from the queue) leaves at once and drops a
waiting one of that key, which would only bring an older state after it.

A send that fails because the layer's broker is unreachable (Redis restarting,
a network cut) is tried again a few times over about a second, which is safe:
every socket skips a message seq or a conversation state it already
delivered. An outage is logged as one warning line; anything else is a bug
and keeps its traceback.
"""

import asyncio
import collections
import logging
import os
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# The broker is unreachable for now; another try may go through.
TRANSIENT_ERRORS = (OSError, TimeoutError, RedisConnectionError, RedisTimeoutError)
SEND_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.2


async def _group_send(group: str, event: dict, attempts: int = SEND_ATTEMPTS) -> bool:
    """Send one event to one group; return whether it left. Never raises.

    The database is the truth: an event that could not be sent is recovered by
    its seq (a later event's gap, ``sync``, or a resume from ``last_seq``).
    """
    for attempt in range(1, attempts + 1):
        try:
            await get_channel_layer().group_send(group, event)
            return True
        except TRANSIENT_ERRORS as exc:
            if attempt == attempts:
                logger.warning(
                    "channel layer unreachable (%s); an event of type %s was not sent, clients recover it by seq",
                    type(exc).__name__, event.get("type"),
                )
                return False
            await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)
        except Exception:
            logger.exception("channel layer send failed for an event of type %s", event.get("type"))
            return False
    return False


def send_event_on_commit(groups, event: dict, *, coalesce: str | None = None, supersedes: str | None = None) -> None:
    """Send ``event`` to each of ``groups`` once the current transaction commits.

    ``event`` must hold only JSON-able values (the Redis layer uses msgpack);
    its ``type`` names the consumer handler (``chat.message`` → ``chat_message``).
    ``coalesce`` / ``supersedes``: a key, see the module docstring.
    """
    groups = _group_list(groups)
    options = {k: v for k, v in (("coalesce", coalesce), ("supersedes", supersedes)) if v is not None}
    transaction.on_commit(lambda: _send_now(groups, event, **options))


def _group_list(groups) -> list[str]:
    """One group name or several, as a list without repeats."""
    return [groups] if isinstance(groups, str) else list(dict.fromkeys(groups))


def _server_loop():
    """The event loop that called this thread through sync_to_async, if it still runs."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


class _OrderedSender:
    """On one event loop: each group's events in order, the groups in parallel; some coalesced (module docstring)."""

    def __init__(self, loop):
        self.loop = loop
        self.queues: dict[str, collections.deque] = {}
        self.tasks: set = set()
        self.last_sent: dict[tuple[str, str], float] = {}  # (group, key) -> when its last event left
        self.waiting: dict[tuple[str, str], dict] = {}  # (group, key) -> the newest event held for its window's end

    def submit_coalesced(self, group: str, key: str, event: dict) -> None:
        slot = (group, key)
        if slot in self.waiting:  # one is held already: this newer state replaces it
            self.waiting[slot] = event
            return
        now, window = self.loop.time(), settings.CHAT_COALESCE_SECONDS
        last = self.last_sent.get(slot)
        if last is None or now - last >= window:
            self._sent(slot, now)
            self.submit(group, event)
            return
        self.waiting[slot] = event
        self.loop.call_at(last + window, self._release, slot)

    def supersede(self, group: str, key: str) -> None:
        self.waiting.pop((group, key), None)

    def _release(self, slot) -> None:
        event = self.waiting.pop(slot, None)
        if event is not None:
            self._sent(slot, self.loop.time())
            self.submit(slot[0], event)

    def _sent(self, slot, now: float) -> None:
        self.last_sent[slot] = now
        if len(self.last_sent) > 10_000:  # forget keys whose window is long over
            horizon = now - settings.CHAT_COALESCE_SECONDS
            self.last_sent = {k: t for k, t in self.last_sent.items() if t > horizon}

    def submit(self, group: str, event: dict) -> None:
        queue = self.queues.get(group)
        if queue is not None:  # a send to this group is under way: this one follows it
            queue.append(event)
            return
        self.queues[group] = collections.deque([event])
        task = self.loop.create_task(self._drain(group))
        self.tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self.tasks.discard)

    async def _drain(self, group: str) -> None:
        queue = self.queues[group]
        try:
            while queue:
                await _group_send(group, queue[0])
                queue.popleft()
        finally:
            del self.queues[group]


_senders: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OrderedSender]" = weakref.WeakKeyDictionary()


def _submit(loop, groups: list[str], event: dict, coalesce: str | None = None, supersedes: str | None = None) -> None:
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _OrderedSender(loop)
    for group in groups:
        if coalesce is not None:
            sender.submit_coalesced(group, coalesce, event)
            continue
        if supersedes is not None:
            sender.supersede(group, supersedes)
        sender.submit(group, event)


def send_event_on_loop(groups, event: dict) -> None:
    """From a coroutine whose own transaction has committed (visitors/store.py): queue the event on this loop."""
    _send_now(_group_list(groups), event)


def _send_now(groups: list[str], event: dict, *, coalesce: str | None = None, supersedes: str | None = None) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    # On a loop's own thread (a coroutine after its commit; synchronous code such as a test
    # driving a browser, which cannot wait for the send): queue it on that loop.
    if running is not None:
        _submit(running, groups, event, coalesce, supersedes)
        return
    loop = _server_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_submit, loop, groups, event, coalesce, supersedes)
            return
        except RuntimeError:  # the loop closed in between: send it here instead
            pass
    for group in groups:
        async_to_sync(_group_send)(group, event)


async def send_event_now(group: str, event: dict) -> None:
    """Send an event that nothing stores (typing): there is no transaction to wait for.

    Tried once: a typing signal that arrives late is worse than none.
    """
    await _group_send(group, event, attempts=1)
