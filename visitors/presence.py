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

from collections import Counter

from django.conf import settings

from chatplatform.beats import ProcessBeat, per_loop
from chatplatform.db import database_sync_to_async

from . import services


class _Presence(ProcessBeat):
    """The visitors of one event loop's open sockets (visitor id -> how many sockets), refreshed together."""

    what = "visitor presence refresh"

    def __init__(self):
        super().__init__()
        self.members = Counter()

    @property
    def visitors(self) -> Counter:
        return self.members

    def interval(self) -> float:
        return settings.CHAT_VISITOR_HEARTBEAT_SECONDS

    def add(self, visitor_id) -> None:
        self.members[visitor_id] += 1
        self.start()

    def discard(self, visitor_id) -> None:
        if self.members[visitor_id] <= 1:
            self.members.pop(visitor_id, None)
        else:
            self.members[visitor_id] -= 1
        self.stop_if_idle()

    async def beat_once(self, index: int = 0, slices: int = 1) -> None:
        if self.members:
            await database_sync_to_async(services.refresh_visitors_seen)(visitor_ids=list(self.members))


_for_this_loop = per_loop(_Presence)


def join(visitor_id) -> None:
    """A socket of this visitor is open in this process (from its hello)."""
    _for_this_loop().add(visitor_id)


def leave(visitor_id) -> None:
    _for_this_loop().discard(visitor_id)
