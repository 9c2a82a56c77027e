"""Reads from the database that every socket of a process shares: one read per key at a time, reused a while.

A few things every socket needs change rarely: a brand (its origins, texts,
topics) for each visitor handshake, a brand's active blocks for each visitor
heartbeat. Asked of the database per socket, a burst of thousands (a
reconnect storm, a deploy) queues them all on the database threads. Here:

* a value read less than ``ttl()`` seconds ago is returned as it is;
* the asks that come while a read is under way wait for that one read (the
  read is per event loop: its future belongs to one);
* with ``stale_for()`` (seconds), an older value up to that age is returned at
  once while the fresh read runs in the background: a handshake must not wait
  behind a congested database for what it read a minute ago. The first ask
  after the read finishes gets the new value.

``ttl() <= 0`` reads at every ask (the test settings do).
"""

import asyncio
from collections.abc import Callable
from time import monotonic

from chatplatform.db import database_sync_to_async


class SharedReads:
    def __init__(self, read: Callable, ttl: Callable[[], float], stale_for: Callable[[], float] = lambda: 0.0,
                 limit: int = 10_000):
        self.read = read  # key -> value; synchronous, run on the database threads
        self.ttl = ttl
        self.stale_for = stale_for
        self.limit = limit  # keys come and go (unknown slugs too): never grow without end
        self._values: dict = {}  # key -> (read at, monotonic; value)
        self._reading: dict = {}  # key -> (loop, future) of the read under way

    async def get(self, key):
        ttl = self.ttl()
        entry = self._values.get(key)
        age = monotonic() - entry[0] if entry is not None else None
        if ttl > 0 and age is not None and age < ttl:
            return entry[1]
        future = self._read_once(key)
        if ttl > 0 and age is not None and age < self.stale_for():
            return entry[1]
        return await asyncio.shield(future)

    def _read_once(self, key) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        pending = self._reading.get(key)
        if pending is not None and pending[0] is loop:
            return pending[1]
        future = asyncio.ensure_future(database_sync_to_async(self.read)(key))
        self._reading[key] = (loop, future)
        future.add_done_callback(lambda done: self._done(key, done))
        return future

    def _done(self, key, future: asyncio.Future) -> None:
        if self._reading.get(key, (None, None))[1] is future:
            del self._reading[key]
        if future.cancelled() or future.exception() is not None:
            return  # the callers that waited hear the error; nothing is kept
        if self.ttl() > 0:
            if len(self._values) > self.limit:
                self._values.clear()
            self._values[key] = (monotonic(), future.result())

    def forget(self) -> None:
        """Drop what was read (tests)."""
        self._values.clear()
        self._reading.clear()
