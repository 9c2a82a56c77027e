"""Who routes a visitor's question to experts: named by the experts app when it is ready (experts/apps.py).

The messaging core (visitors) imports no app above it; the one routing
request a visitor makes, "another expert, please" (`conversation.next_expert`),
goes to the function named here. The fan-out to the queues is visitors/signals.py; the websocket routes are visitors/routing.py.
"""

from chatplatform import errors
from chatplatform.errors import ChatError

_next_expert = None


def route_with(*, next_expert) -> None:
    """Name the router: ``next_expert(visitor=) -> Conversation`` (in the database thread)."""
    global _next_expert
    _next_expert = next_expert


def next_expert(*, visitor):
    """The visitor's question waits for another expert than the one it had (experts.services.next_expert)."""
    if _next_expert is None:  # no experts app: nobody to ask
        raise ChatError(errors.NO_CONVERSATION, "There is no expert to ask.")
    return _next_expert(visitor=visitor)
