"""Every channel-layer event, declared once (after zulip's ``event_types.py``).

An event is what a service hands to ``chatplatform.events`` after commit and what a
socket's handler of the same name receives (``chat.message`` -> ``chat_message``).
Each class below is one event type with ``extra="forbid"``: the contract test
(tests/chatplatform/test_event_types.py) runs the services, captures every event
they send and validates it here; it also reads the source for every event type a
module sends and checks each is declared, and that a socket handles it.

The services still send plain dicts: a model built per message would be CPU on
the hot path for a check the tests already make. The payload objects are the
protocol's own (chatplatform/protocol.py); moderation's rows are plain objects
declared here by their keys.
"""

from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict

from chatplatform.protocol import AlertObject, BlockObject, ConversationObject, MessageObject, ReportObject


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- a conversation's group (conversation.<id>): both sides' sockets that follow it ---------

class ChatMessage(Event):
    """A message was stored: the doorbell; sockets deliver by seq (chatplatform/delivery.py)."""

    type: Literal["chat.message"]
    message: MessageObject


class ChatTyping(Event):
    """Someone is typing (or stopped); nothing is stored."""

    type: Literal["chat.typing"]
    conversation: str
    author: Literal["visitor", "expert"]
    active: bool


class ChatRead(Event):
    type: Literal["chat.read"]
    conversation: str
    reader: Literal["visitor", "expert"]
    seq: int


# --- a visitor's group, the experts' groups --------------------------------------------------

class ChatConversation(Event):
    """A conversation's new state, to its visitor and its expert(s)."""

    type: Literal["chat.conversation"]
    conversation: ConversationObject


class VisitorPresence(Event):
    """One of the visitor's sockets closed: the others answer "still here"."""

    type: Literal["visitor.presence"]
    visitor: str


class VisitorBlocked(Event):
    type: Literal["visitor.blocked"]
    detail: str
    until: Optional[datetime]


class VisitorErased(Event):
    type: Literal["visitor.erased"]


class ExpertPresence(Event):
    type: Literal["expert.presence"]
    status: Literal["online", "away", "offline"]


class ExpertSuspended(Event):
    type: Literal["expert.suspended"]


class ExpertRevoked(Event):
    """Closes the expert's sockets with ``code`` (chatplatform/close_codes.py)."""

    type: Literal["expert.revoked"]
    code: int
    detail: str


class ExpertRef(Event):
    id: str
    display_name: str


class ExpertTransfer(Event):
    """A conversation was handed to this expert by a colleague (experts/transfer.py): the note, for their sockets."""

    type: Literal["expert.transfer"]
    conversation: str
    from_expert: ExpertRef
    note: str


class UserRevoked(Event):
    type: Literal["user.revoked"]
    code: int
    detail: str


class UserPermissionsChanged(Event):
    """A manager's rights may have changed: their feed re-checks them."""

    type: Literal["user.permissions_changed"]


# --- a brand's queue group (online experts) ------------------------------------------------------

class QueueAdded(Event):
    type: Literal["queue.added"]
    conversation: ConversationObject
    preview: str
    excluded: list[str]  # expert ids the visitor asked to move on from
    # "topic": offered only to the experts of its topic for now; "brand": to every online expert (experts/topic_routing.py).
    wave: Literal["topic", "brand"] = "brand"


class QueueUpdated(Event):
    type: Literal["queue.updated"]
    conversation: ConversationObject


class QueueRemoved(Event):
    type: Literal["queue.removed"]
    conversation: str


# --- the community managers' feed (moderators) --------------------------------------------------

class AlertCreated(Event):
    type: Literal["alert.created"]
    alert: AlertObject


class AlertUpdated(Event):
    type: Literal["alert.updated"]
    alert: AlertObject


class BlockCreated(Event):
    type: Literal["block.created"]
    block: BlockObject


class ReportCreated(Event):
    type: Literal["report.created"]
    report: ReportObject


# --- the process's own ---------------------------------------------------------------------------

class LayerResync(Event):
    """The pub/sub layer lost events (chatplatform/layers.py): read back what is followed."""

    type: Literal["layer.resync"]


class ExpertsChanged(Event):
    """A doorbell to the watchers of a brand's open widgets: its experts online may have changed
    (visitors/experts_online.py counts and pushes ``experts.online``; no figure is carried)."""

    type: Literal["experts.changed"]
    brand: str


class HealthCheck(Event):
    """The readiness probe's round trip through the layer to itself (chatplatform/views.py)."""

    type: Literal["health.check"]
    nonce: str


EVENTS: dict[str, type[Event]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls
    for cls in Event.__subclasses__()
    if "type" in cls.model_fields
}
