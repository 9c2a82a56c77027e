"""Visitor presence that survives a server crash: one `last_seen` refresh per server process, not per socket.

``Visitor.away_since`` is set when a visitor's last socket closes; a server
process that dies closes nothing, so its visitors would stay "here" for ever
and the inactivity sweep would never end their conversations. Here each
process refreshes ``last_seen`` of the visitors it has a socket open for,
every CHAT_VISITOR_HEARTBEAT_SECONDS, in one UPDATE for all of them; the
worker's presence sweep (``visitors.tasks.mark_vanished_visitors_away``) marks
away those not refreshed for three heartbeats (their process died), as of
their ``last_seen``. A visitor the sweep marked away whose socket is in fact
open (the database was away for three beats) is marked here again at the next beat.
"""

import asyncio
import logging
import weakref
from collections import Counter

from django.conf import settings

from chatplatform.db import database_sync_to_async

from . import services

logger = logging.getLogger(__name__)


class _Presence:
    """The visitors of one event loop's open sockets (how many sockets each), and the task that refreshes them."""

    def __init__(self):
        self.visitors: Counter = Counter()
        self.task: asyncio.Task | None = None

    def add(self, visitor_id) -> None:
        self.visitors[visitor_id] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def discard(self, visitor_id) -> None:
        if self.visitors[visitor_id] <= 1:
            self.visitors.pop(visitor_id, None)
        else:
            self.visitors[visitor_id] -= 1
        if not self.visitors and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.visitors:
            await asyncio.sleep(settings.CHAT_VISITOR_HEARTBEAT_SECONDS)
            try:
                await self.beat_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away for a moment: the next beat tries again
                logger.warning("visitor presence refresh failed (%s); trying again at the next", type(exc).__name__)

    async def beat_once(self) -> None:
        if self.visitors:
            await database_sync_to_async(services.refresh_visitors_seen)(visitor_ids=list(self.visitors))


_presences: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Presence]" = weakref.WeakKeyDictionary()


def _for_this_loop() -> _Presence:
    loop = asyncio.get_running_loop()
    presence = _presences.get(loop)
    if presence is None:
        presence = _presences[loop] = _Presence()
    return presence


def join(visitor_id) -> None:
    """A socket of this visitor is open in this process (from its hello)."""
    _for_this_loop().add(visitor_id)


def leave(visitor_id) -> None:
    _for_this_loop().discard(visitor_id)
