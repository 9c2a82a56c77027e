"""autobahn's debug lines about each new connection, formatted only if they are written.

On every connection autobahn (under daphne) pretty-prints its 29 options and
the transport's details for two ``log.debug`` lines. The arguments are built
before the call, so the work is done whether or not debug logging is on: 4%
of the server's CPU in a reconnect storm of 4,000 sockets (docs/performance.md).
``format_lazily()`` makes autobahn's ``pformat`` return an object that formats
when it is written, so the lines read the same when debug logging is on.
"""

import pprint


class LazyPretty:
    """``pprint.pformat(value)``, computed when written (``str``, ``format``, ``repr``)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self):
        return pprint.pformat(self.value)

    __repr__ = __str__

    def __format__(self, spec):
        return format(str(self), spec)


def format_lazily() -> bool:
    """Apply it to autobahn's websocket protocol, if autobahn is installed; return whether it was."""
    try:
        from autobahn.websocket import protocol
    except ImportError:
        return False
    if protocol.pformat is LazyPretty:
        return True
    protocol.pformat = LazyPretty
    # The one caller that must get a str back (``Timings.__str__``) formats at once, as before.
    protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)
    return True
