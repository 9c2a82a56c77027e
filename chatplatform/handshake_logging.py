"""autobahn's debug lines, formatted only if they are written.

On every connection autobahn (under daphne) pretty-prints its 29 options and
the transport's details for two ``log.debug`` lines. The arguments are built
before the call, so the work is done whether or not debug logging is on: 4%
of the server's CPU in a reconnect storm of 4,000 sockets (docs/performance.md).
``format_lazily()`` makes autobahn's ``pformat`` return an object that formats
when it is written, so the lines read the same when debug logging is on.

The same for every frame: autobahn's websocket modules colour their debug
lines' arguments with ``hltype`` and ``hlval`` (``click.style``) for each
frame read and each frame sent, 2.8 µs a frame, 2 to 3% of a reconnect storm's
samples and 2% of steady chat's. Their names in those two modules now return
an object that colours when written. Every use there is a keyword argument of
a log call (tests/test_handshake_logging.py reads the modules' source to
check), and autobahn is pinned for it (pyproject.toml).
"""

import importlib
import pprint

# autobahn's modules whose debug lines colour their arguments per frame (module, from its package).
_COLOURING_MODULES = ("autobahn.websocket.protocol", "autobahn.twisted.websocket")


class LazyCall:
    """``fn(*args, **kwargs)`` as text, computed when written (``str``, ``format``, ``repr``)."""

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __str__(self):
        return str(self.fn(*self.args, **self.kwargs))

    __repr__ = __str__

    def __format__(self, spec):
        return format(str(self), spec)


def _lazily(fn):
    def lazy(*args, **kwargs):
        return LazyCall(fn, args, kwargs)

    lazy.formats_lazily = True
    return lazy


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
    """Make autobahn's debug arguments lazy (handshake and per frame), if autobahn is installed; return whether it was."""
    try:
        from autobahn.websocket import protocol
    except ImportError:
        return False
    if protocol.pformat is not LazyPretty:
        protocol.pformat = LazyPretty
        # The one caller that must get a str back (``Timings.__str__``) formats at once, as before.
        protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)
    from autobahn import util

    for name in _COLOURING_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.hltype, "formats_lazily", False):
            module.hltype = _lazily(util.hltype)
            module.hlval = _lazily(util.hlval)
    return True
