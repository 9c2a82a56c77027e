"""The server command: daphne, on asyncio's event loop or on uvloop. ``python -m chatplatform.serve`` takes daphne's own arguments.

daphne runs Twisted on an asyncio event loop, and makes that loop when it is
imported (``daphne.server``), with whatever event loop policy is set then.
With ``CHAT_EVENT_LOOP=uvloop`` this sets uvloop's policy first, so the loop
under Twisted, the consumers, the channel layer and the database pool is
libuv's instead of asyncio's own selector loop, then hands over to daphne's
command line unchanged. Twisted accepts uvloop under its asyncio reactor
since 21.7.

Not the default (``CHAT_EVENT_LOOP=asyncio``): uvloop took a tenth off the
server's CPU in steady chat and in a reconnect storm, but in three of seven
storms on it a few hundred sockets came back only about 30 s after the
drop, never on asyncio's loop; Twisted has an open report of uvloop losing
a connection's close under load (twisted/twisted#11904). docs/performance.md,
"The storm, third pass", has the figures. The server's log says which loop
it runs on.
"""

import asyncio
import os
import sys


def install_event_loop() -> str:
    """Set the event loop policy daphne's loop will be made with; returns which loop that is."""
    if os.environ.get("CHAT_EVENT_LOOP", "asyncio") != "uvloop":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main() -> None:
    # One line at start, to the server's log: which loop this process runs on.
    print(f"chatplatform.serve: event loop {install_event_loop()}", file=sys.stderr, flush=True)
    from daphne.cli import CommandLineInterface  # imports daphne.server, which makes the loop

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
