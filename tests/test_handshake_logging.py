"""autobahn's per-connection debug lines are formatted only when written (chatplatform/handshake_logging.py)."""

import pprint

from autobahn.websocket import protocol

from chatplatform.handshake_logging import format_lazily


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
