"""Reads for the visitor side, each scoped to what the asker may see."""

import time
import uuid

from django.conf import settings

from chatplatform import errors
from chatplatform.errors import ChatError

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


# slug -> (monotonic time it was read, the brand or None)
_recent_brands: dict[str, tuple[float, Brand | None]] = {}


def recent_active_brand(slug: str) -> tuple[bool, Brand | None]:
    """The brand as read in the last CHAT_BRAND_CACHE_SECONDS in this process: (known, brand).

    A socket handshake must be accepted within daphne's 5 s; in a burst of
    thousands (a reconnect storm), a database read per handshake queues them
    past it. The brand (its origins, texts, topics) changes rarely, so a few
    seconds' old copy decides; a change in the admin takes effect after that.
    """
    ttl = settings.CHAT_BRAND_CACHE_SECONDS
    entry = _recent_brands.get(slug)
    if ttl > 0 and entry is not None and time.monotonic() - entry[0] < ttl:
        return True, entry[1]
    return False, None


def remember_brand(slug: str, brand: Brand | None) -> None:
    if settings.CHAT_BRAND_CACHE_SECONDS > 0:
        if len(_recent_brands) > 10_000:  # unknown slugs must not grow it without end
            _recent_brands.clear()
        _recent_brands[slug] = (time.monotonic(), brand)


def active_brand_for_socket(slug: str) -> Brand | None:
    """The active brand with its topics loaded (one read; then remembered for a few seconds)."""
    brand = Brand.objects.filter(slug=slug, is_active=True).prefetch_related("topics").first()
    remember_brand(slug, brand)
    return brand


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
