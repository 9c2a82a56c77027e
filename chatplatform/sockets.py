"""What a chat socket does around its frames, shared by the visitor and expert sockets.

- its own groups (the visitor's, the expert's, the user's), left together when it closes;
- the hello deadline (a socket that says nothing is closed, docs/protocol.md);
- a beat of its own (a jittered periodic check) that survives a database or layer outage.

The beats that serve all of a process's sockets at once are chatplatform/beats.py;
the delivery of messages by seq is chatplatform/delivery.py.
"""

import asyncio
import logging
import random

from chatplatform.beats import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)


class SocketLifecycle:
    """Mixin for a ProtocolConsumer: own groups, the hello deadline and a per-socket beat."""

    # Class defaults: a socket refused in connect() never ran init_lifecycle(), and its disconnect() still runs.
    own_groups: tuple | list = ()
    hello_deadline: asyncio.TimerHandle | None = None
    beat_task: asyncio.Task | None = None

    def init_lifecycle(self) -> None:
        self.own_groups = []
        self.hello_deadline = None
        self.beat_task = None

    async def join_own_group(self, group: str) -> None:
        if group not in self.own_groups:
            self.own_groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def leave_own_groups(self) -> None:
        groups, self.own_groups = list(self.own_groups), []
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    def arm_hello_deadline(self, seconds: float, on_timeout) -> None:
        """Call ``on_timeout()`` (a coroutine function) in ``seconds`` unless disarmed first."""
        self.hello_deadline = asyncio.get_running_loop().call_later(seconds, lambda: asyncio.ensure_future(on_timeout()))

    def disarm_hello_deadline(self) -> None:
        if self.hello_deadline is not None:
            self.hello_deadline.cancel()
            self.hello_deadline = None

    def start_beat(self, seconds, beat, what: str) -> None:
        """Await ``beat()`` every ``seconds()`` (a little less at random, so a burst of sockets does not
        beat together) until it returns True; an outage of the database or the layer waits for the next."""
        self.beat_task = asyncio.ensure_future(self._beat_loop(seconds, beat, what))

    async def _beat_loop(self, seconds, beat, what: str) -> None:
        while True:
            await asyncio.sleep(max(0.05, seconds()) * random.uniform(0.75, 1.0))
            try:
                if await beat():
                    return
            except TRANSIENT_ERRORS as exc:
                logger.warning("%s failed (%s); trying again at the next", what, type(exc).__name__)

    async def end_lifecycle(self) -> None:
        """On close: no deadline, no beat, out of its own groups."""
        self.disarm_hello_deadline()
        if self.beat_task is not None:
            self.beat_task.cancel()
            self.beat_task = None
        await self.leave_own_groups()
