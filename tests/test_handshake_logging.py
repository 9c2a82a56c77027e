"""autobahn's per-connection debug lines are formatted only when written (chatplatform/handshake_logging.py)."""

import pprint

from autobahn.websocket import protocol

from chatplatform.handshake_logging import _COLOURING_MODULES, format_lazily


class Counted:
    def __init__(self):
        self.formatted = 0

    def __repr__(self):
        self.formatted += 1
        return "Counted()"


def test_nothing_is_formatted_until_the_line_is_written_and_then_it_reads_as_before():
    assert format_lazily() is True
    value = [("openHandshakeTimeout", 5, "WebSocketServerFactory"), Counted()]
    lazy = protocol.pformat(value)
    assert value[1].formatted == 0  # what autobahn's log.debug(...) costs when debug is off
    # txaio writes a debug line with str.format: the same text as pprint's.
    assert "\n{attrs}".format(attrs=lazy) == "\n" + pprint.pformat(value)
    assert str(lazy) == pprint.pformat(value)
    assert value[1].formatted > 0


def test_timings_still_print_as_text():
    format_lazily()
    timings = protocol.Timings()
    timings.track("onOpen")
    assert isinstance(str(timings), str) and "onOpen" in str(timings)


def test_each_frames_coloured_arguments_are_coloured_only_when_written():
    # Guards against: click.style run for every frame read and sent, with debug logging off.
    import importlib

    from autobahn import util

    assert format_lazily() is True
    for name in _COLOURING_MODULES:
        module = importlib.import_module(name)
        value = Counted()
        lazy = module.hlval(value)
        assert value.formatted == 0
        assert str(lazy) == util.hlval(Counted()) and value.formatted == 1
        assert "{peer}".format(peer=module.hlval("tcp4:127.0.0.1:1")) == util.hlval("tcp4:127.0.0.1:1")
        assert str(module.hltype(test_timings_still_print_as_text)) == util.hltype(test_timings_still_print_as_text)


def test_autobahn_uses_its_colouring_helpers_only_as_log_arguments():
    # Guards against: an autobahn release using hltype/hlval where a str is needed (concatenation,
    # an exception's text), which a lazy object would break. Fails when autobahn's modules change so.
    import importlib
    import inspect
    import re

    for name in _COLOURING_MODULES:
        source = inspect.getsource(importlib.import_module(name))
        uses = re.findall(r"(.{0,40})\bhl(?:type|val)\(", source)
        calls = [before for before in uses if not before.rstrip().endswith(("import", ","))]
        assert calls, name
        for before in calls:
            assert re.search(r"\b\w+=$", before.strip()), f"{name}: {before!r}"
