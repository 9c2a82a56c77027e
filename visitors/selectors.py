"""Reads for the visitor side, each scoped to what the asker may see."""

import uuid

from django.conf import settings

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.shared_reads import SharedReads
from chatplatform.statements import Param, Statement

from .models import OPEN_STATUSES, Brand, Conversation, Message, Visitor
from .serializers import conversation_object, message_object
from .tokens import hash_token

CONVERSATION_RELATED = ("brand", "visitor", "expert", "topic")

# The reads every reconnecting socket makes, built once per database connection (chatplatform/statements.py).
_find_visitor = Statement(
    lambda: Visitor.objects.filter(
        brand_id=Param("brand", Brand._meta.pk), token_hash=Param("token_hash", Visitor._meta.get_field("token_hash"))
    ).order_by("pk")[:1]
)
_open_conversation = Statement(
    lambda: Conversation.objects.select_related(*CONVERSATION_RELATED)
    .filter(visitor_id=Param("visitor", Visitor._meta.pk), status__in=OPEN_STATUSES)
    .order_by("-created_at")[:1]
)
_open_conversation_id = Statement(
    lambda: Conversation.objects.filter(visitor_id=Param("visitor", Visitor._meta.pk), status__in=OPEN_STATUSES)
    .order_by("-created_at")
    .values_list("pk", flat=True)[:1]
)
_latest_ended_conversation = Statement(
    lambda: Conversation.objects.select_related(*CONVERSATION_RELATED)
    .filter(visitor_id=Param("visitor", Visitor._meta.pk), status=Conversation.Status.ENDED)
    .order_by("-ended_at")[:1]
)
# One per page size (the LIMIT is part of the statement).
_messages_after: dict[int, Statement] = {}


def _messages_after_statement(limit: int) -> Statement:
    statement = _messages_after.get(limit)
    if statement is None:
        statement = _messages_after[limit] = Statement(
            # The picture (if any) in the same read: history signs its URLs (visitors/attachments.py).
            lambda: Message.objects.select_related("attachment").filter(
                conversation_id=Param("conversation", Conversation._meta.pk),
                seq__gt=Param("after", Message._meta.get_field("seq")),
            ).order_by("seq")[:limit]
        )
    return statement


def parse_conversation_id(value) -> uuid.UUID:
    """A conversation id from a frame; anything that is not a UUID names no conversation."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise ChatError(errors.NOT_FOUND, "No such conversation.") from None


def get_active_brand(slug: str) -> Brand | None:
    return Brand.objects.filter(slug=slug, is_active=True).first()


def get_brand(slug: str) -> Brand | None:
    """The brand, active or not (what it shows publicly anyway, such as its logo)."""
    return Brand.objects.filter(slug=slug).first()


def active_brand_for_socket(slug: str) -> Brand | None:
    """The active brand with its topics loaded (one read), or None."""
    return Brand.objects.filter(slug=slug, is_active=True).prefetch_related("topics").first()


# How old a brand read may be and still answer a handshake while a fresh read runs.
BRAND_STALE_SECONDS = 60.0

_brands = SharedReads(
    active_brand_for_socket, ttl=lambda: settings.CHAT_BRAND_CACHE_SECONDS, stale_for=lambda: BRAND_STALE_SECONDS
)


async def brand_for_socket(slug: str) -> Brand | None:
    """The brand a visitor socket names, as read in the last CHAT_BRAND_CACHE_SECONDS in this process.

    A socket handshake must be accepted within daphne's 5 s; in a burst of
    thousands (a reconnect storm), a database read per handshake queues them
    past it. The brand (its origins, texts, topics) changes rarely: the
    handshakes share one read, and once it is older than the setting, the
    first handshake after starts a fresh read and every handshake meanwhile
    is answered from the old one (up to BRAND_STALE_SECONDS old), not made to
    wait on a busy database. A change in the admin takes effect after the
    setting's seconds and one read (chatplatform/shared_reads.py).
    """
    return await _brands.get(slug)


def find_visitor(*, brand: Brand, token: str | None) -> Visitor | None:
    """The visitor of this brand holding ``token``, or None for a new one."""
    if not token:
        return None
    return _find_visitor.first(brand=brand.pk, token_hash=hash_token(token))


def open_conversation(*, visitor: Visitor) -> Conversation | None:
    """The visitor's waiting or active conversation, if any (there is at most one)."""
    return _open_conversation.first(visitor=visitor.pk)


def open_conversation_id(*, visitor: Visitor) -> str | None:
    """The id of the visitor's waiting or active conversation, if any (one index scan)."""
    pk = _open_conversation_id.first(visitor=visitor.pk)
    return str(pk) if pk else None


def latest_ended_conversation(*, visitor: Visitor) -> Conversation | None:
    return _latest_ended_conversation.first(visitor=visitor.pk)


def conversation_with_related(conversation_id) -> Conversation:
    return Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation_id)


def conversations_with_related(conversation_ids) -> list[Conversation]:
    """Conversations a socket already follows (access was checked when it joined them)."""
    return list(Conversation.objects.select_related(*CONVERSATION_RELATED).filter(pk__in=list(conversation_ids)))


def conversation_or_not_found(conversation_id, *, lock: bool = False, **scope) -> Conversation:
    """The conversation with its related rows, if it is within ``scope`` (filters); else `not_found`.

    Every access check goes through here: what the asker may not see does not exist
    for them, with the same error as an id that names nothing. ``lock``: held for
    update (the conversation row only) until the caller's transaction ends.
    """
    query = Conversation.objects.select_related(*CONVERSATION_RELATED)
    if lock:
        query = query.select_for_update(of=("self",))
    conversation = query.filter(pk=parse_conversation_id(conversation_id), **scope).first()
    if conversation is None:
        raise ChatError(errors.NOT_FOUND, "No such conversation.")
    return conversation


def access_visitor_conversation(*, visitor: Visitor, conversation_id) -> Conversation:
    """One of the visitor's own conversations; anyone else's is simply not found."""
    return conversation_or_not_found(conversation_id, visitor=visitor)


def message_objects_after(conversation_id, after_seq: int, upto_seq: int | None = None) -> list[dict]:
    """``messages_after`` as the protocol's Message objects (what a socket delivers)."""
    return [message_object(m) for m in messages_after(conversation_id=conversation_id, after_seq=after_seq, upto_seq=upto_seq)]


def conversation_objects(conversation_ids) -> list[dict]:
    """The current state of conversations a socket already follows."""
    return [conversation_object(c) for c in conversations_with_related(conversation_ids)]


def messages_after(*, conversation_id, after_seq: int, limit: int | None = None, upto_seq: int | None = None):
    """Messages with seq > after_seq (and <= upto_seq), in order, at most ``limit``."""
    limit = limit or settings.CHAT_SYNC_PAGE_SIZE
    if upto_seq is None:
        return _messages_after_statement(limit).all(conversation=conversation_id, after=after_seq)
    query = Message.objects.select_related("attachment").filter(conversation_id=conversation_id, seq__gt=after_seq)
    if upto_seq is not None:
        query = query.filter(seq__lte=upto_seq)
    return list(query.order_by("seq")[:limit])


def started_with(*, visitor: Visitor, client_id: str) -> bool:
    """Whether one of the visitor's conversations was started by a frame with this client id."""
    return Message.objects.filter(conversation__visitor=visitor, seq=1, author=Message.Author.VISITOR, client_id=client_id).exists()
