"""One beat per server process for many sockets: a task per event loop that runs while it has members.

The visitors' ``last_seen`` refresh (visitors/presence.py) and the experts'
presence and rights check (experts/heartbeats.py) each hold one of these: a
statement for all of a process's sockets per beat, not one per socket
(docs/performance.md). A beat that meets a database or channel-layer outage
is logged and tried again at the next; any other error is a bug and ends the
task with its traceback (the next member to join starts a new one).
"""

import asyncio
import logging
import weakref

from redis.exceptions import RedisError

from chatplatform.db import DATABASE_ERRORS

logger = logging.getLogger(__name__)

# What a beat may meet while a service is away for a moment: the next beat tries again.
TRANSIENT_ERRORS = (*DATABASE_ERRORS, RedisError, OSError)


class ProcessBeat:
    """The members of one event loop (key -> value), and the task that beats for them while there are any.

    Subclasses say ``what`` they beat for (the log line), ``interval()`` and ``slices()``
    (a beat for slice ``index`` of ``slices`` each interval/slices seconds), and implement
    ``beat_once(index, slices)``.
    """

    what = "heartbeat"

    def __init__(self):
        self.members: dict = {}
        self.task: asyncio.Task | None = None

    def interval(self) -> float:
        raise NotImplementedError

    def slices(self) -> int:
        return 1

    async def beat_once(self, index: int = 0, slices: int = 1) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def stop_if_idle(self) -> None:
        if not self.members and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        tick = 0
        while self.members:
            slices = max(1, self.slices())
            await asyncio.sleep(self.interval() / slices)
            try:
                await self.beat_once(tick % slices, slices)
            except TRANSIENT_ERRORS as exc:
                logger.warning("%s failed (%s); trying again at the next", self.what, type(exc).__name__)
            tick += 1


def per_loop(factory):
    """A function returning this event loop's instance of ``factory`` (made on first use, dropped with the loop)."""
    instances: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()

    def for_this_loop():
        loop = asyncio.get_running_loop()
        instance = instances.get(loop)
        if instance is None:
            instance = instances[loop] = factory()
        return instance

    return for_this_loop
