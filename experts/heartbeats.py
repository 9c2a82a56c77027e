"""One heartbeat per server process for all of its expert sockets, not one per socket.

Every CHAT_PRESENCE_HEARTBEAT_SECONDS, each expert socket must keep its
presence row alive, so that presence never sticks on a socket whose process
died. Each socket must also be closed if its session ended or its expert was
suspended: that is the backstop for a lost `expert.revoked` or
`expert.suspended` event.

Done per socket, that was four queries per socket per beat, about 270 a second
with 2,000 expert sockets: 18% of the server's CPU in the 2,000-pair benchmark
(docs/performance.md). Here one task per event loop does it for all the
sockets at once, in one call on the database pool: one UPDATE of their
connection rows, then one read each of their sessions, users and suspended
profiles. Then it closes the sockets whose check failed, as before.

The sockets are split into CHAT_PRESENCE_HEARTBEAT_SLICES slices (by a hash of
their channel name), beaten one slice after another across the interval. Each
socket still beats once per interval, and no single call holds the GIL long
enough to stall the event loop (a batch of 2,000 sessions to decode would).
"""

import zlib

from django.conf import settings

from chatplatform.beats import ProcessBeat, per_loop
from chatplatform.close_codes import CLOSE_UNAUTHENTICATED
from chatplatform.db import database_sync_to_async

from . import selectors, services

SIGNED_OUT = {"code": CLOSE_UNAUTHENTICATED, "detail": "Your session has ended: sign in again."}


def beat(sockets) -> dict:
    """The database work of one beat: (channel name, session key, user id, expert id) each -> verdicts."""
    sockets = list(sockets)
    services.refresh_connections(channel_names=[channel_name for channel_name, _, _, _ in sockets])
    return selectors.sockets_still_allowed(sockets)


class _Heartbeat(ProcessBeat):
    """The expert sockets of one event loop (channel name -> consumer), beaten slice by slice."""

    what = "expert heartbeat"

    @property
    def sockets(self) -> dict:
        return self.members

    def interval(self) -> float:
        return settings.CHAT_PRESENCE_HEARTBEAT_SECONDS

    def slices(self) -> int:
        return settings.CHAT_PRESENCE_HEARTBEAT_SLICES

    def add(self, consumer) -> None:
        self.members[consumer.channel_name] = consumer
        self.start()

    def discard(self, consumer) -> None:
        self.members.pop(consumer.channel_name, None)
        self.stop_if_idle()

    async def beat_once(self, index: int = 0, slices: int = 1) -> None:
        """Beat for the sockets of slice ``index`` (of ``slices``): all of them by default."""
        await self.beat_members([c for name, c in self.sockets.items() if slices == 1 or _slot(name, slices) == index])

    async def beat_members(self, members: list) -> None:
        if not members:
            return
        verdicts = await database_sync_to_async(beat)(
            [(c.channel_name, c.session_key, c.user.pk, c.expert.pk) for c in members]
        )
        for consumer in members:
            verdict = verdicts.get(consumer.channel_name)
            if verdict is None or self.sockets.get(consumer.channel_name) is not consumer:
                continue
            self.discard(consumer)
            if verdict == "suspended":
                await consumer.expert_suspended({})
            else:
                await consumer.expert_revoked(SIGNED_OUT)


def _slot(channel_name: str, slices: int) -> int:
    """A socket's slice: the same at every beat, so each socket beats once per interval."""
    return zlib.crc32(channel_name.encode()) % slices


_for_this_loop = per_loop(_Heartbeat)


def join(consumer) -> None:
    """Beat for this socket from now on (it has ``channel_name``, ``session_key``, ``user`` and ``expert``)."""
    _for_this_loop().add(consumer)


async def check_now(consumer) -> None:
    """The beat's check for this one socket at once (its rights changed), without waiting for its slice."""
    heartbeat = _for_this_loop()
    if heartbeat.sockets.get(consumer.channel_name) is consumer:
        await heartbeat.beat_members([consumer])


def leave(consumer) -> None:
    _for_this_loop().discard(consumer)
