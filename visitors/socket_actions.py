"""What each visitor frame does in the database thread: one call per frame, the block checked first.

The visitor socket (visitors/consumers.py) parses a frame and hands it here in
one ``database_sync_to_async`` call; each function checks the visitor's blocks
(moderation/blocks.py), calls the services, and returns the protocol's objects.
A chat message does not come here: it goes to the message store (visitors/store.py).
"""

from django.db import transaction

from chatplatform import errors, protocol
from chatplatform.errors import ChatError
from moderation import privacy
from moderation import services as moderation_services

from . import followups, router, selectors, services
from .serializers import conversation_object, message_object


def _lookup(brand, token, blocks):
    """Who says hello: the visitor holding ``token`` (None when it names nobody), the refusal
    if a block covers them, and the id of their open conversation (to follow before the welcome is read)."""
    known = selectors.find_visitor(brand=brand, token=token)
    refusal = blocks.for_visitor(known).refusal()
    conversation_id = selectors.open_conversation_id(visitor=known) if known is not None and refusal is None else None
    return known, refusal, conversation_id


def _open_session(brand, known, token, nickname, address_hash, last_seq):
    """Open the visitor's session (a new visitor if ``known`` is None) and read its welcome, in one trip."""
    was_away = known is not None and known.away_since is not None
    visitor, token = services.open_visitor_session(
        brand=brand, token=token if known else None, nickname=nickname, address_hash=address_hash, visitor=known
    )
    # A visitor made just now has no conversation to read.
    state = _welcome_state(visitor, brand, last_seq, has_conversations=known is not None)
    waiting = state["conversation"]
    if was_away and waiting is not None and waiting["status"] == "waiting":  # back: the queue shows them here
        services.announce_in_queue(brand.slug, waiting)
    return visitor, token, state


def _welcome_state(visitor, brand, last_seq: int, has_conversations: bool = True) -> dict:
    conversation = selectors.open_conversation(visitor=visitor) if has_conversations else None
    messages = []
    # A visitor already holding every message (a resume after a short drop, most of a reconnect
    # storm) gets none, and the read is not made: its groups were joined before this read, so
    # what is stored after it reaches the socket as events.
    if conversation is not None and last_seq < conversation.last_seq:
        messages = [message_object(m) for m in selectors.messages_after(conversation_id=conversation.id, after_seq=last_seq)]
    last = selectors.latest_ended_conversation(visitor=visitor) if conversation is None and has_conversations else None
    return {
        "conversation": conversation_object(conversation) if conversation else None,
        "last_conversation": conversation_object(last) if last else None,
        "messages": messages,
        "brand": {
            "slug": brand.slug,
            "name": brand.name,
            "welcome_message": brand.welcome_message,
            "experts_online": None,  # shared by the handshakes of the process: filled in by the socket
            "topics": [{"slug": t.slug, "name": t.name} for t in brand.topics.all()],
        },
    }


def welcome_frame(visitor, token: str, state: dict) -> dict:
    """The visitor's `welcome`: its session, the brand, and its conversation with the messages it lacks."""
    return protocol.visitor_welcome_frame(
        token=token,
        # Added: `email`, the visitor's contact address (this visitor's own sockets only).
        visitor={"id": str(visitor.id), "nickname": visitor.nickname or None, "email": visitor.email or None},
        brand=state["brand"], conversation=state["conversation"], messages=state["messages"],
        # Added: with no open conversation, the last ended one (to rate, report, or ask again).
        last_conversation=state["last_conversation"],
    )


def _start(visitor, blocks, frame, flagged, page=None):
    blocks.check()
    page = frame.page or page  # the question's own page, else the one the socket said at hello
    retry = selectors.started_with(visitor=visitor, client_id=frame.client_id)
    # The nickname and the address change with the start, in its transaction: a refused start changes nothing.
    with transaction.atomic():
        if frame.email is not None:
            followups.set_contact(visitor=visitor, email=frame.email)
        conversation = services.start_conversation(
            visitor=visitor, text=frame.text, client_id=frame.client_id, topic_slug=frame.topic, flagged=flagged,
            nickname=frame.nickname, page_path=page.path if page else "", page_title=page.title if page else "",
        )
    first = conversation.messages.get(seq=1)
    if flagged and not retry:
        moderation_services.note_flagged_message(message=first)
    return conversation_object(conversation), message_object(first)


def _note_flagged(message):
    moderation_services.note_flagged_message(message=message)


def _report(visitor, blocks, frame):
    blocks.check()
    report = moderation_services.file_visitor_report(
        visitor=visitor, category=frame.category, description=frame.description, email=frame.email or "",
        conversation_id=frame.conversation,
    )
    return report.reference


def _sync(visitor, blocks, after_seq: int):
    blocks.check()
    conversation = selectors.open_conversation(visitor=visitor) or selectors.latest_ended_conversation(visitor=visitor)
    if conversation is None:
        raise ChatError(errors.NO_CONVERSATION, "You have no conversation.")
    batch = selectors.messages_after(conversation_id=conversation.id, after_seq=after_seq)
    return str(conversation.id), [message_object(m) for m in batch], bool(batch) and batch[-1].seq < conversation.last_seq


def _read(visitor, blocks, seq: int):
    blocks.check()
    conversation = selectors.open_conversation(visitor=visitor) or selectors.latest_ended_conversation(visitor=visitor)
    if conversation is None:
        raise ChatError(errors.NO_CONVERSATION, "You have no conversation.")
    services.mark_read(conversation_id=conversation.id, reader="visitor", seq=seq)


def _end(visitor, blocks):
    blocks.check()
    return conversation_object(services.end_visitor_conversation(visitor=visitor))


def _rate(visitor, blocks, frame):
    blocks.check()
    return conversation_object(services.rate_conversation(visitor=visitor, score=frame.score, comment=frame.comment))


def _without_flags(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "flagged"} if "flagged" in message else message


def visitor_view(frame: dict) -> dict:
    """The frame as the visitor may see it: without the abuse filter's `flagged` marks.

    The mark is for the expert and the managers; shown to the visitor it would
    tell them which words trip the filter. The channel layer carries one message
    event to both sides, so the visitor's socket takes the mark off here.
    """
    kind = frame.get("type")
    if kind == "message":
        return protocol.message_frame(_without_flags(frame["message"]))
    if kind in ("messages", "welcome") and frame.get("messages"):
        return {**frame, "messages": [_without_flags(m) for m in frame["messages"]]}
    if kind == "data.export":
        data = frame["data"]
        conversations = [{**c, "messages": [_without_flags(m) for m in c.get("messages", [])]} for c in data.get("conversations", [])]
        return {**frame, "data": {**data, "conversations": conversations}}
    return frame


def _next_expert(visitor, blocks):
    blocks.check()
    return conversation_object(router.next_expert(visitor=visitor))


def _export(visitor, blocks):
    blocks.check()
    return privacy.export_visitor_data(visitor=visitor)


def _hello_contact(visitor, email):
    """The address a hello carried (the hello already checked the blocks)."""
    return followups.set_contact(visitor=visitor, email=email)


def _set_contact(visitor, blocks, email):
    blocks.check()
    return followups.set_contact(visitor=visitor, email=email)


def _transcript(visitor, blocks):
    blocks.check()
    return followups.request_transcript(visitor=visitor)


def _erase(visitor, blocks):
    blocks.check()
    privacy.erase_visitor_data(visitor=visitor)
