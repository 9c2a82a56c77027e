"""The server command (chatplatform/serve.py): daphne on asyncio's own loop, or on uvloop on request.

The whole protocol over that server is exercised by tests/e2e and tests/faults,
which start it the way it is deployed.
"""

import os
import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT, daphne_server

# What loop daphne's Twisted reactor ends up on, in a fresh interpreter as the command runs it.
PROBE = """
from chatplatform.serve import install_event_loop
chosen = install_event_loop()
from daphne.server import twisted_loop  # made when daphne.server is imported
from twisted.internet import reactor
assert reactor._asyncioEventloop is twisted_loop
print(chosen, type(twisted_loop).__module__)
"""


def probe(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "CHAT_EVENT_LOOP"} | env
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, check=True).stdout.split()


def test_daphne_runs_on_asyncios_own_loop_by_default():
    assert probe() == ["asyncio", "asyncio.unix_events"]


def test_chat_event_loop_uvloop_puts_daphne_on_uvloop():
    assert probe(CHAT_EVENT_LOOP="uvloop") == ["uvloop", "uvloop"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_server_says_which_loop_it_runs_and_answers_on_it():
    import urllib.request

    with daphne_server(CHAT_EVENT_LOOP="uvloop") as base:
        assert urllib.request.urlopen(base + "/healthz", timeout=10).status == 200
        assert base.log_path.read_text().splitlines()[0] == "chatplatform.serve: event loop uvloop"


def test_daphne_still_makes_its_websocket_factory_from_the_name_we_replace():
    # Guards against: a daphne upgrade moving the factory's making, which would silently bring back
    # 1006 (a dropped connection) instead of 1009/1007 for a too-big or non-UTF-8 frame.
    import inspect

    import daphne.server
    from autobahn.twisted.websocket import WebSocketServerFactory

    from chatplatform.consumers import close_bad_frames_with_their_code

    assert "WebSocketFactory(self" in inspect.getsource(daphne.server.Server.run)
    close_bad_frames_with_their_code()
    factory = daphne.server.WebSocketFactory(object(), server="daphne")  # as Server.run makes it
    assert isinstance(factory, WebSocketServerFactory) and factory.failByDrop is False
    factory.setProtocolOptions(maxMessagePayloadSize=1024 * 1024)  # as Server.run does next: the option stays off
    assert factory.failByDrop is False
