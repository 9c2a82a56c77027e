"""Every frame of the v1 protocol (docs/protocol.md), declared once.

Inbound frames are validated here before any service runs; outbound objects and
frames are built here, so what leaves always has the documented shape. The
consumers and the event contract test use these classes and nothing else.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal, Optional, Union

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from chatplatform import errors
from chatplatform.errors import ChatError

MAX_TEXT_LENGTH = 2000
MAX_FRAME_BYTES = 16 * 1024
MAX_SEQ = 2**53


# Characters that show nothing on their own: controls, format characters (zero-width space and
# joiners, bidi marks, soft hyphen, the BOM), separators, combining marks with nothing to combine
# with, and the letters and symbols fonts draw blank (Hangul fillers, braille blank, Mongolian
# vowel separator). A text of only these looks empty to the reader, so it counts as blank.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")


def is_blank(value: str) -> bool:
    """True when ``value`` shows nothing: empty, or only whitespace and invisible characters."""
    return all(ch in _BLANK_GLYPHS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in value)


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be empty")
    return value


def _blank_as_empty(value: str) -> str:
    """An invisible nickname is no nickname (the expert would see a blank name)."""
    return "" if is_blank(value) else value


def _email_address(value: str) -> str:
    """A visitor's contact address: Django's own check, lowercased domain; no display names, no lists."""
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    value = value.strip()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("not a valid e-mail address") from None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(_not_blank)]
# Added: the visitor's contact address (contact.set, hello, conversation.start).
ContactEmail = Annotated[str, Field(max_length=254), AfterValidator(_email_address)]
ClientId = Annotated[str, Field(min_length=1, max_length=100)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
ConversationRef = Annotated[str, Field(max_length=64)]
# Added: the id POST /attachments/ answered (docs/protocol.md, "Attachments").
AttachmentRef = Annotated[str, Field(min_length=1, max_length=64)]
Nickname = Annotated[str, Field(max_length=40), AfterValidator(_blank_as_empty)]
Status = Literal["online", "away", "offline"]


MAX_PAGE_PATH = 200
MAX_PAGE_TITLE = 200


def _no_controls(value: str) -> str:
    # Control characters (NUL, line breaks, escapes) have no place in a path or a title.
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _page_path(value: str) -> str:
    _no_controls(value)
    if not value.startswith("/") or "?" in value or "#" in value:
        raise ValueError("must be a path starting with `/`, without query string or fragment")
    return value


class InboundFrame(BaseModel):
    """A frame a client sends. Strict types: "5" is not a number, 1 is not text."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


# --- visitor socket -------------------------------------------------------------

class Page(InboundFrame):
    """Added: the brand's page the visitor asks from (the loader passes it; docs/protocol.md)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    path: Annotated[str, Field(min_length=1, max_length=MAX_PAGE_PATH), AfterValidator(_page_path)]
    title: Annotated[str, Field(max_length=MAX_PAGE_TITLE), AfterValidator(_no_controls)] = ""


class Hello(InboundFrame):
    token: Optional[Annotated[str, Field(max_length=200)]] = None
    nickname: Optional[Nickname] = None
    last_seq: Seq = 0
    # Added: the page the widget is open on; a question started on this socket without one of its own gets it.
    page: Optional[Page] = None
    # Added: an address to hear of answers by (as contact.set); absent or null changes nothing.
    email: Optional[ContactEmail] = None


class ConversationStart(InboundFrame):
    text: Text
    topic: Optional[Annotated[str, Field(max_length=50)]] = None
    client_id: ClientId
    # Added: the nickname may also be given with the question.
    nickname: Optional[Nickname] = None
    # Added: the page the question is asked from.
    page: Optional[Page] = None
    # Added: an address to hear of answers by (as contact.set); absent or null changes nothing.
    email: Optional[ContactEmail] = None


class _TextOrAttachment(InboundFrame):
    """``message.send``: a text, a picture (**added**: ``attachment``), or both; the text may be left out only with a picture."""

    text: Text = ""
    # Added: the id POST /attachments/ answered.
    attachment: Optional[AttachmentRef] = None

    @model_validator(mode="after")
    def _text_or_attachment(self):
        if not self.text and self.attachment is None:
            raise ChatError(errors.INVALID_FIELD, "Field `text`: Field required.", field="text")
        return self


class VisitorMessageSend(_TextOrAttachment):
    client_id: ClientId


class VisitorTyping(InboundFrame):
    active: bool


class VisitorRead(InboundFrame):
    seq: Seq


class VisitorSync(InboundFrame):
    after_seq: Seq = 0


class VisitorEnd(InboundFrame):
    pass


class Rate(InboundFrame):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Optional[Annotated[str, Field(max_length=1000)]] = None


class NextExpert(InboundFrame):
    pass


class Ping(InboundFrame):
    pass


class DataExport(InboundFrame):
    """Added: the visitor asks for everything stored about them."""


class DataErase(InboundFrame):
    """Added: the visitor asks for their personal data to be erased (their sockets close)."""


class ContactSet(InboundFrame):
    """Added: the visitor gives (or, with null, withdraws) the address to hear of answers by."""

    email: Optional[ContactEmail]


class TranscriptSend(InboundFrame):
    """Added: the visitor asks for the transcript of their last ended conversation by e-mail."""


# --- expert socket --------------------------------------------------------------

class PresenceSet(InboundFrame):
    status: Status


class ConversationAction(InboundFrame):
    """claim, end, release: a frame that names one conversation."""

    conversation: ConversationRef


class ExpertMessageSend(_TextOrAttachment):
    conversation: ConversationRef
    client_id: ClientId


class ConversationTransfer(InboundFrame):
    """Added: hand an active conversation to a named online colleague of its brand, with a note for them."""

    conversation: ConversationRef
    expert: Annotated[str, Field(min_length=1, max_length=20)]
    note: Optional[Annotated[str, Field(max_length=1000)]] = None


class ExpertTyping(InboundFrame):
    conversation: ConversationRef
    active: bool


class ExpertRead(InboundFrame):
    conversation: ConversationRef
    seq: Seq


class ExpertSync(InboundFrame):
    conversation: ConversationRef
    after_seq: Seq = 0


# --- moderation (visitor and expert sockets) -------------------------------------

Category = Literal["disrespectful", "unhelpful", "inappropriate", "advertising", "privacy", "other"]
Note = Annotated[str, Field(max_length=2000), AfterValidator(_not_blank)]
Description = Annotated[str, Field(max_length=4000), AfterValidator(_not_blank)]
Email = Annotated[str, Field(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class VisitorReport(InboundFrame):
    category: Category
    description: Description
    email: Optional[Email] = None
    conversation: Optional[ConversationRef] = None


class ExpertReport(InboundFrame):
    conversation: ConversationRef
    category: Category
    description: Description


class Warn(InboundFrame):
    conversation: ConversationRef
    text: Optional[Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]] = None


class RaiseAlert(InboundFrame):
    conversation: ConversationRef
    note: Note


class BlockVisitor(InboundFrame):
    conversation: ConversationRef
    reason: Annotated[str, Field(max_length=1000), AfterValidator(_not_blank)]
    # Required, and null means until a community manager lifts it.
    # At least an hour; the most is the MAX_BLOCK_HOURS setting, which the service applies.
    duration_hours: Optional[Annotated[int, Field(ge=1)]]


class AlertAck(InboundFrame):
    alert: Annotated[str, Field(max_length=20)]


VISITOR_FRAMES: dict[str, type[InboundFrame]] = {
    "hello": Hello,
    "conversation.start": ConversationStart,
    "message.send": VisitorMessageSend,
    "typing": VisitorTyping,
    "read": VisitorRead,
    "sync": VisitorSync,
    "conversation.end": VisitorEnd,
    "conversation.rate": Rate,
    "conversation.next_expert": NextExpert,
    "report.file": VisitorReport,
    "ping": Ping,
    "data.export": DataExport,
    "data.erase": DataErase,
    "contact.set": ContactSet,
    "transcript.send": TranscriptSend,
}

EXPERT_FRAMES: dict[str, type[InboundFrame]] = {
    "presence.set": PresenceSet,
    "conversation.claim": ConversationAction,
    "message.send": ExpertMessageSend,
    "typing": ExpertTyping,
    "read": ExpertRead,
    "sync": ExpertSync,
    "conversation.end": ConversationAction,
    "conversation.release": ConversationAction,
    "conversation.transfer": ConversationTransfer,
    "moderation.warn": Warn,
    "moderation.alert": RaiseAlert,
    "moderation.block": BlockVisitor,
    "report.file": ExpertReport,
    "ping": Ping,
}

MODERATION_FRAMES: dict[str, type[InboundFrame]] = {
    "alert.ack": AlertAck,
    "ping": Ping,
}


def decode_frame(raw: str | None, binary: bytes | None = None) -> dict:
    """Turn a websocket text frame into a JSON object, or raise the protocol's error."""
    if raw is None:
        raise ChatError(errors.INVALID_FRAME, "Frames must be text frames holding a JSON object.")
    if len(raw) > MAX_FRAME_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ChatError(errors.TOO_LONG, f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        data = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError, UnicodeError):
        raise ChatError(errors.INVALID_FRAME, "The frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ChatError(errors.INVALID_FRAME, "A frame must be a JSON object.")
    if not isinstance(data.get("type"), str):
        raise ChatError(errors.INVALID_FRAME, "A frame needs a string `type`.")
    return data


def parse_frame(data: dict, frames: dict[str, type[InboundFrame]]) -> InboundFrame:
    """Validate a decoded frame against the schema of its type."""
    frame_type = data["type"]
    schema = frames.get(frame_type)
    if schema is None:
        raise ChatError(errors.UNKNOWN_TYPE, f"Unknown frame type {frame_type[:40]!r}.")
    for field, value in data.items():
        # PostgreSQL cannot store NUL in text, and no client has a reason to send one.
        if isinstance(value, str) and "\x00" in value:
            raise ChatError(errors.INVALID_FIELD, f"Field `{field}`: must not contain NUL characters.", field=field)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "frame"
        if first["type"] == "string_too_long" and field == "text":
            raise ChatError(errors.TOO_LONG, f"Messages are limited to {MAX_TEXT_LENGTH} characters.") from None
        raise ChatError(errors.INVALID_FIELD, f"Field `{field}`: {first['msg']}.", field=field) from None


def frame_ref(data: dict) -> str | None:
    """The client_id an error frame refers to, when the frame carried one."""
    ref = data.get("client_id") if isinstance(data, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 100 else None


def encode(frame: dict) -> str:
    return orjson.dumps(frame).decode()


# --- outbound objects -------------------------------------------------------------

class OutboundObject(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpertObject(OutboundObject):
    id: str
    display_name: str
    bio: str
    avatar_url: Optional[str]


class VisitorObject(OutboundObject):
    id: str
    nickname: Optional[str]
    # Added: null while the visitor has a chat window open, else when their last one closed.
    away_since: Optional[datetime] = None
    # Added: whether the visitor can be told of an answer by e-mail (never the address itself).
    reachable: bool = False


class PageObject(OutboundObject):
    path: str
    title: str


class RatingObject(OutboundObject):
    score: int
    comment: str


class ConversationObject(OutboundObject):
    id: str
    brand: str
    status: Literal["waiting", "active", "ended"]
    topic: Optional[str]
    expert: Optional[ExpertObject]
    visitor: VisitorObject
    created_at: datetime
    ended_at: Optional[datetime]
    ended_by: Optional[Literal["visitor", "expert", "moderator", "system"]]
    last_seq: int
    rating: Optional[RatingObject]
    # Added: how far each side has read, so a reloaded client shows read marks.
    visitor_read_seq: int = 0
    expert_read_seq: int = 0
    # Added: why the system ended it (ended_by "system"); null otherwise.
    end_reason: Optional[Literal["inactive", "unanswered"]] = None
    # Added: the brand's page the question was asked from (path and title), when the widget said.
    page: Optional[PageObject] = None


class AttachmentObject(OutboundObject):
    """Added: the picture a message carries; the URLs are signed and expire (docs/protocol.md, "Attachments")."""

    url: str
    thumbnail_url: str
    width: int
    height: int
    content_type: str


class SystemObject(OutboundObject):
    """A system message's stable code and parameters (chatplatform/i18n.py SYSTEM_MESSAGES)."""

    code: str
    params: dict[str, Union[int, str]] = {}


class MessageObject(OutboundObject):
    conversation: str
    seq: int
    author: Literal["visitor", "expert", "system"]
    author_name: str
    kind: Literal["text", "warning", "notice"]
    text: str
    client_id: Optional[str]
    created_at: datetime
    # Added: the moderation layer marks a visitor message its filter flagged.
    flagged: bool = False
    # Added: the picture sent with the message; absent on a message without one.
    attachment: Optional[AttachmentObject] = None
    # Added: a system message's code and parameters; its `text` is then in the reader's language.
    system: Optional[SystemObject] = None


class AlertObject(OutboundObject):
    """A moderation alert (moderation/serializers.py alert_object)."""

    id: str
    conversation: Optional[str]
    brand: str
    kind: str
    note: str
    raised_by: str
    status: str
    created_at: datetime


class BlockObject(OutboundObject):
    """A block (moderation/serializers.py block_object)."""

    id: str
    until: Optional[datetime]
    brand: str
    conversation: Optional[str]
    reason: str
    by_address: bool
    created_by: Optional[str]
    created_at: datetime


class ReportObject(OutboundObject):
    """A report ticket as managers see it (moderation/serializers.py report_object)."""

    reference: str
    category: str
    brand: str
    status: str
    filed_by: str
    conversation: Optional[str]
    created_at: datetime


def dump(obj: BaseModel) -> dict:
    return obj.model_dump(mode="json")


# --- outbound frames ---------------------------------------------------------------
# Every frame the server sends, one class each (extra fields refused), per socket in
# VISITOR_OUTBOUND, EXPERT_OUTBOUND and MODERATION_OUTBOUND. The builders below make the
# plain dicts the sockets send: a model built per delivered message would be CPU on the hot
# path for a check the tests make on every frame they see (tests/conftest.py, CHAT_CHECK_FRAMES)
# and on the source (tests/chatplatform/test_frame_types.py).
#
# A frame that carries one object has it under its own key; its fields are also
# repeated at the top level, so clients that read either shape work.


class OutboundFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationFrame(ConversationObject):
    type: Literal["conversation"]
    conversation: ConversationObject


class MessageFrame(MessageObject):
    type: Literal["message"]
    message: MessageObject


class MessagesFrame(OutboundFrame):
    type: Literal["messages"]
    conversation: str
    messages: list[MessageObject]
    has_more: bool


class TypingFrame(OutboundFrame):
    type: Literal["typing"]
    conversation: str
    author: Literal["visitor", "expert"]
    active: bool


class ReadFrame(OutboundFrame):
    type: Literal["read"]
    conversation: str
    reader: Literal["visitor", "expert"]
    seq: int


class ErrorFrame(OutboundFrame):
    type: Literal["error"]
    code: str
    detail: str
    ref: Optional[str]
    until: Optional[datetime] = None  # `blocked` only: when the block ends (null: never)


class PongFrame(OutboundFrame):
    type: Literal["pong"]


class TopicObject(OutboundObject):
    slug: str
    name: str


class BrandObject(OutboundObject):
    slug: str
    name: str
    welcome_message: str
    experts_online: Optional[int]
    topics: list[TopicObject]


class SessionVisitorObject(OutboundObject):
    """The visitor as their own sockets see them (the address is theirs: never shown to experts)."""

    id: str
    nickname: Optional[str]
    email: Optional[str]


class VisitorWelcomeFrame(OutboundFrame):
    type: Literal["welcome"]
    token: str
    visitor: SessionVisitorObject
    brand: BrandObject
    conversation: Optional[ConversationObject]
    messages: list[MessageObject]
    last_conversation: Optional[ConversationObject]


class ExpertsOnlineFrame(OutboundFrame):
    """Added: how many experts could take the visitor's question now (pushed when it changes)."""

    type: Literal["experts.online"]
    count: int


class ContactFrame(OutboundFrame):
    """Added: the visitor's contact address as now stored (to the visitor's own sockets only)."""

    type: Literal["contact"]
    email: Optional[str]


class ReportFiledFrame(OutboundFrame):
    type: Literal["report.filed"]
    reference: str


class DataExportFrame(OutboundFrame):
    type: Literal["data.export"]
    data: dict  # moderation/privacy.py export_visitor_data: the visitor's own data, documented in protocol.md


class TranscriptQueuedFrame(OutboundFrame):
    type: Literal["transcript.queued"]
    conversation: str


class DataErasedFrame(OutboundFrame):
    type: Literal["data.erased"]


class ExpertSelfObject(OutboundObject):
    id: str
    display_name: str


class TransferNoteObject(OutboundObject):
    from_expert: Optional[ExpertSelfObject]
    note: str


class ExpertWelcomeFrame(OutboundFrame):
    type: Literal["welcome"]
    expert: ExpertSelfObject
    status: Literal["online", "away", "offline"]
    queue: list[ConversationObject]
    queue_previews: dict[str, str]
    # Added: how each waiting question is offered to this expert ("topic" or "brand", experts/topic_routing.py).
    queue_offers: dict[str, Literal["topic", "brand"]]
    conversations: list[ConversationObject]
    # Added: {conversation id: {from_expert, note}} for the conversations a colleague handed to this expert.
    transfer_notes: dict[str, "TransferNoteObject"]


class PresenceFrame(OutboundFrame):
    type: Literal["presence"]
    status: Literal["online", "away", "offline"]


class QueueAddedFrame(OutboundFrame):
    type: Literal["queue.added"]
    conversation: ConversationObject
    preview: str
    # Added: "topic" when the question is in one of the expert's topics, else "brand".
    offer: Literal["topic", "brand"]


class ConversationTransferredFrame(OutboundFrame):
    """Added: to the expert a conversation was handed to, with the colleague's note."""

    type: Literal["conversation.transferred"]
    conversation: str
    from_expert: Optional[ExpertSelfObject]
    note: str


class QueueUpdatedFrame(OutboundFrame):
    """Added: a queued conversation changed in place (its visitor left or came back)."""

    type: Literal["queue.updated"]
    conversation: ConversationObject


class QueueRemovedFrame(OutboundFrame):
    type: Literal["queue.removed"]
    conversation: str


class AlertRaisedFrame(OutboundFrame):
    type: Literal["alert.raised"]
    alert: AlertObject


class BlockCreatedFrame(OutboundFrame):
    type: Literal["block.created"]
    block: BlockObject


class ModerationWelcomeFrame(OutboundFrame):
    type: Literal["welcome"]
    open_alerts: list[AlertObject]
    open_alert_count: int
    open_reports: int
    active_blocks: int


class AlertCreatedFrame(OutboundFrame):
    type: Literal["alert.created"]
    alert: AlertObject


class AlertUpdatedFrame(OutboundFrame):
    type: Literal["alert.updated"]
    alert: AlertObject


class ReportCreatedFrame(OutboundFrame):
    type: Literal["report.created"]
    report: ReportObject


class CountsFrame(OutboundFrame):
    type: Literal["counts"]
    open_alerts: int
    open_reports: int
    active_blocks: int


def _by_type(*classes) -> dict[str, type[BaseModel]]:
    return {cls.model_fields["type"].annotation.__args__[0]: cls for cls in classes}


# What any socket may send (the base class answers `ping` and refuses frames).
BASE_OUTBOUND = _by_type(ErrorFrame, PongFrame)
_COMMON_OUTBOUND = (ConversationFrame, MessageFrame, MessagesFrame, TypingFrame, ReadFrame, ErrorFrame, PongFrame)
# What each socket may send, by frame type.
VISITOR_OUTBOUND = _by_type(
    *_COMMON_OUTBOUND, VisitorWelcomeFrame, ExpertsOnlineFrame, ContactFrame, ReportFiledFrame, DataExportFrame,
    TranscriptQueuedFrame, DataErasedFrame,
)
EXPERT_OUTBOUND = _by_type(
    *_COMMON_OUTBOUND, ExpertWelcomeFrame, PresenceFrame, QueueAddedFrame, QueueUpdatedFrame, QueueRemovedFrame,
    ConversationTransferredFrame,
    AlertRaisedFrame, BlockCreatedFrame, ReportFiledFrame,
)
MODERATION_OUTBOUND = _by_type(
    ErrorFrame, PongFrame, ModerationWelcomeFrame, AlertCreatedFrame, AlertUpdatedFrame, BlockCreatedFrame,
    ReportCreatedFrame, CountsFrame,
)


# Frames a socket sent that its declaration refused (CHAT_CHECK_FRAMES): tests/conftest.py fails the test.
outbound_violations: list[str] = []


def check_outbound(declared: dict[str, type[BaseModel]], frame: dict) -> None:
    """Raise ValueError unless ``frame`` is one the socket declares, in its declared shape (tests, CHAT_CHECK_FRAMES)."""
    kind = frame.get("type")
    if kind not in declared:
        outbound_violations.append(f"undeclared outbound frame type {kind!r}")
        raise ValueError(outbound_violations[-1])
    try:
        declared[kind].model_validate(frame)
    except ValueError as exc:  # pydantic's ValidationError is one
        outbound_violations.append(f"{kind}: {exc}")
        raise


# --- builders: every frame the server sends is made here ------------------------------------

def conversation_frame(conversation: dict) -> dict:
    return {**conversation, "type": "conversation", "conversation": conversation}


def message_frame(message: dict) -> dict:
    return {**message, "type": "message", "message": message}


def messages_frame(conversation_id: str, messages: list[dict], has_more: bool = False) -> dict:
    return {"type": "messages", "conversation": conversation_id, "messages": messages, "has_more": has_more}


def typing_frame(conversation_id: str, author: str, active: bool) -> dict:
    return {"type": "typing", "conversation": conversation_id, "author": author, "active": active}


def read_frame(conversation_id: str, reader: str, seq: int) -> dict:
    return {"type": "read", "conversation": conversation_id, "reader": reader, "seq": seq}


def visitor_welcome_frame(*, token: str, visitor: dict, brand: dict, conversation, messages, last_conversation) -> dict:
    return {
        "type": "welcome", "token": token, "visitor": visitor, "brand": brand, "conversation": conversation,
        "messages": messages, "last_conversation": last_conversation,
    }


def expert_welcome_frame(*, expert: dict, status: str, queue, queue_previews, queue_offers, conversations,
                         transfer_notes) -> dict:
    return {
        "type": "welcome", "expert": expert, "status": status, "queue": queue, "queue_previews": queue_previews,
        "queue_offers": queue_offers, "conversations": conversations, "transfer_notes": transfer_notes,
    }


def moderation_welcome_frame(*, open_alerts, open_alert_count: int, open_reports: int, active_blocks: int) -> dict:
    return {
        "type": "welcome", "open_alerts": open_alerts, "open_alert_count": open_alert_count,
        "open_reports": open_reports, "active_blocks": active_blocks,
    }


def queue_added_frame(conversation: dict, preview: str, offer: str = "brand") -> dict:
    """``offer`` (added): "topic" when the question is in one of the expert's topics, else "brand"."""
    return {"type": "queue.added", "conversation": conversation, "preview": preview, "offer": offer}


def queue_updated_frame(conversation: dict) -> dict:
    return {"type": "queue.updated", "conversation": conversation}


def queue_removed_frame(conversation_id: str) -> dict:
    return {"type": "queue.removed", "conversation": conversation_id}


def transferred_frame(conversation_id: str, from_expert: dict | None, note: str) -> dict:
    """Added: to the expert a conversation was handed to, with the colleague's note (the state comes as `conversation`)."""
    return {"type": "conversation.transferred", "conversation": conversation_id, "from_expert": from_expert, "note": note}


def experts_online_frame(count: int) -> dict:
    return {"type": "experts.online", "count": count}


def contact_frame(email: str | None) -> dict:
    return {"type": "contact", "email": email}


def presence_frame(status: str) -> dict:
    return {"type": "presence", "status": status}


def report_filed_frame(reference: str) -> dict:
    return {"type": "report.filed", "reference": reference}


def data_export_frame(data: dict) -> dict:
    return {"type": "data.export", "data": data}


def transcript_queued_frame(conversation_id: str) -> dict:
    return {"type": "transcript.queued", "conversation": conversation_id}


def data_erased_frame() -> dict:
    return {"type": "data.erased"}


def alert_frame(kind: str, alert: dict) -> dict:
    """`alert.raised` (to the expert who raised it), `alert.created` or `alert.updated` (to managers)."""
    return {"type": kind, "alert": alert}


def block_created_frame(block: dict) -> dict:
    return {"type": "block.created", "block": block}


def report_created_frame(report: dict) -> dict:
    return {"type": "report.created", "report": report}


def counts_frame(counts: dict) -> dict:
    return {"type": "counts", **counts}


def error_frame(code: str, detail: str, ref: str | None = None, **extra) -> dict:
    return {"type": "error", "code": code, "detail": detail, "ref": ref, **extra}


PONG = {"type": "pong"}
