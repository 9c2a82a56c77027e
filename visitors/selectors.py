"""Reads for the visitor side, each scoped to what the asker may see."""

import uuid

from django.conf import settings

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.shared_reads import SharedReads

from .models import Brand, Conversation, Message, Visitor
from .tokens import hash_token

CONVERSATION_RELATED = ("brand", "visitor", "expert", "topic")


def parse_conversation_id(value) -> uuid.UUID:
    """A conversation id from a frame; anything that is not a UUID names no conversation."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise ChatError(errors.NOT_FOUND, "No such conversation.") from None


def get_active_brand(slug: str) -> Brand | None:
    return Brand.objects.filter(slug=slug, is_active=True).first()


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
    return Visitor.objects.filter(brand=brand, token_hash=hash_token(token)).first()


def open_conversation(*, visitor: Visitor) -> Conversation | None:
    """The visitor's waiting or active conversation, if any (there is at most one)."""
    return (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status__in=[Conversation.Status.WAITING, Conversation.Status.ACTIVE])
        .order_by("-created_at")
        .first()
    )


def open_conversation_id(*, visitor: Visitor) -> str | None:
    """The id of the visitor's waiting or active conversation, if any (one index scan)."""
    pk = (
        Conversation.objects.filter(visitor=visitor, status__in=[Conversation.Status.WAITING, Conversation.Status.ACTIVE])
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    return str(pk) if pk else None


def latest_ended_conversation(*, visitor: Visitor) -> Conversation | None:
    return (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status=Conversation.Status.ENDED)
        .order_by("-ended_at")
        .first()
    )


def conversation_with_related(conversation_id) -> Conversation:
    return Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation_id)


def conversations_with_related(conversation_ids) -> list[Conversation]:
    """Conversations a socket already follows (access was checked when it joined them)."""
    return list(Conversation.objects.select_related(*CONVERSATION_RELATED).filter(pk__in=list(conversation_ids)))


def access_visitor_conversation(*, visitor: Visitor, conversation_id) -> Conversation:
    """One of the visitor's own conversations; anyone else's is simply not found."""
    pk = parse_conversation_id(conversation_id)
    conversation = Conversation.objects.select_related(*CONVERSATION_RELATED).filter(pk=pk, visitor=visitor).first()
    if conversation is None:
        raise ChatError(errors.NOT_FOUND, "No such conversation.")
    return conversation


def messages_after(*, conversation_id, after_seq: int, limit: int | None = None, upto_seq: int | None = None):
    """Messages with seq > after_seq (and <= upto_seq), in order, at most ``limit``."""
    limit = limit or settings.CHAT_SYNC_PAGE_SIZE
    query = Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
    if upto_seq is not None:
        query = query.filter(seq__lte=upto_seq)
    return list(query.order_by("seq")[:limit])


def started_with(*, visitor: Visitor, client_id: str) -> bool:
    """Whether one of the visitor's conversations was started by a frame with this client id."""
    return Message.objects.filter(conversation__visitor=visitor, seq=1, author=Message.Author.VISITOR, client_id=client_id).exists()
