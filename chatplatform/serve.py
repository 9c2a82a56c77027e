"""The server command: daphne on uvloop. ``python -m chatplatform.serve`` takes daphne's own arguments.

daphne runs Twisted on an asyncio event loop, and makes that loop when it is
imported (``daphne.server``), with whatever event loop policy is set then.
This sets uvloop's policy first, so the loop under Twisted, the consumers, the
channel layer and the database pool is libuv's instead of asyncio's own
selector loop, then hands over to daphne's command line unchanged. Twisted
supports uvloop under its asyncio reactor since 21.7.

Why: the event loop's own bookkeeping (ready handles, timers, futures, every
socket's reader and writer registrations: Twisted registers a socket for
writing on each frame it sends) was an eighth of the server's CPU in a
reconnect storm (docs/performance.md, "The storm, third pass").

``CHAT_EVENT_LOOP=asyncio`` keeps asyncio's own loop (for a comparison, or
should a uvloop release misbehave); without uvloop installed, the same.
"""

import asyncio
import os
import sys


def install_event_loop() -> str:
    """Set the event loop policy daphne's loop will be made with; returns which loop that is."""
    if os.environ.get("CHAT_EVENT_LOOP", "uvloop") == "asyncio":
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
