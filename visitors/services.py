"""Every write of the messaging core but a person's chat message, and the events each one sends after commit.

A visitor's or an expert's message is stored by visitors/store.py (the one
message path); system messages (warnings, notices) go through its
``append_message`` under this module's row lock on the conversation.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.events import send_event_now, send_event_on_commit
from chatplatform.groups import conversation_group, expert_group, visitor_group
from chatplatform.statements import Param, Statement, UpdateStatement

from . import signals
from .models import OPEN_STATUSES, Brand, Conversation, Message, Visitor
from .store import append_message
from .store import store_expert_message as send_expert_message  # noqa: F401 (the thread's name for them)
from .store import store_visitor_message as send_visitor_message  # noqa: F401
from .selectors import CONVERSATION_RELATED, conversation_or_not_found
from .serializers import SYSTEM_NAME, VISITOR_DEFAULT_NAME, conversation_object
from .tokens import hash_token, new_token
from .topic_offers import topic_offer_until


def _visitor_update(*fields: str) -> UpdateStatement:
    """The session's update of a returning visitor (these fields), built once per connection."""
    return UpdateStatement(
        lambda: Visitor.objects.filter(pk=Param("visitor", Visitor._meta.pk)),
        **{name: Param(name, Visitor._meta.get_field(name)) for name in fields},
    )


# Every returning visitor's hello writes these (chatplatform/statements.py).
# ``away_since`` goes back to null in the same statement: the visitor is here again.
_touch_visitor = _visitor_update("last_seen", "address_hash", "away_since")
_touch_and_rename_visitor = _visitor_update("last_seen", "address_hash", "away_since", "nickname")


# --- visitors --------------------------------------------------------------------

def open_visitor_session(
    *, brand: Brand, token: str | None, nickname: str | None, address_hash: str, visitor: Visitor | None = None
) -> tuple[Visitor, str]:
    """Return the visitor holding ``token`` (or a new one, with a new token) and the token to keep.

    ``visitor``: the one holding ``token`` if the caller has just read it (the handshake did), not read again.
    """
    if visitor is None and token:
        visitor = Visitor.objects.filter(brand=brand, token_hash=hash_token(token)).first()
    now = timezone.now()
    if visitor is None:
        token = new_token()
        visitor = Visitor.objects.create(
            brand=brand, token_hash=hash_token(token), nickname=(nickname or "").strip(), address_hash=address_hash
        )
        return visitor, token
    fields = {"last_seen": now, "address_hash": address_hash, "away_since": None}
    if nickname is not None and nickname.strip() and nickname.strip() != visitor.nickname:
        fields["nickname"] = nickname.strip()
    (_touch_and_rename_visitor if "nickname" in fields else _touch_visitor).run(visitor=visitor.pk, **fields)
    for name, value in fields.items():
        setattr(visitor, name, value)
    visitor.brand = brand
    return visitor, token


def announce_in_queue(brand_slug: str, conversation: dict) -> None:
    """A waiting question's visitor came or went: whoever routes questions shows it (visitors/signals.py)."""
    signals.waiting_visitor_changed.send(sender=Conversation, brand_slug=brand_slug, payload=conversation)


# Every visitor socket's close writes and reads these (a reconnect storm closes thousands at once):
# built once per database connection (chatplatform/statements.py).
_mark_away = UpdateStatement(
    lambda: Visitor.objects.filter(pk=Param("visitor", Visitor._meta.pk), away_since__isnull=True),
    away_since=Param("away_since", Visitor._meta.get_field("away_since")),
)
_mark_here = UpdateStatement(
    lambda: Visitor.objects.filter(pk=Param("visitor", Visitor._meta.pk), away_since__isnull=False), away_since=None,
)
_waiting_conversation = Statement(
    lambda: Conversation.objects.select_related(*CONVERSATION_RELATED)
    .filter(visitor_id=Param("visitor", Visitor._meta.pk), status=Conversation.Status.WAITING)
    .order_by("pk")[:1]
)


def _announce_presence_to_queue(visitor_id) -> None:
    if not signals.waiting_visitor_changed.has_listeners(Conversation):
        return  # nobody routes questions: not even the read
    waiting = _waiting_conversation.first(visitor=visitor_id)
    if waiting is not None:
        announce_in_queue(waiting.brand.slug, conversation_object(waiting))


@transaction.atomic
def mark_visitor_away(*, visitor_id) -> bool:
    """The visitor's socket closed: note since when they are away; return whether they were here.

    Their other open sockets (another tab, maybe on another process) hear
    ``visitor.presence`` and mark them here again.
    """
    if not _mark_away.run(visitor=visitor_id, away_since=timezone.now()):
        return False
    _announce_presence_to_queue(visitor_id)
    send_event_on_commit(visitor_group(visitor_id), {"type": "visitor.presence", "visitor": str(visitor_id)})
    return True


@transaction.atomic
def mark_visitor_here(*, visitor_id) -> bool:
    """One of the visitor's sockets is still open: they are here (after another socket of theirs closed)."""
    if not _mark_here.run(visitor=visitor_id):
        return False
    _announce_presence_to_queue(visitor_id)
    return True


def refresh_visitors_seen(*, visitor_ids) -> None:
    """These visitors have a socket open in the calling process: one UPDATE for all (visitors/presence.py).

    One the presence sweep marked away meanwhile (this process could not reach
    the database for three heartbeats) is here again, and the queue says so.
    """
    ids = list(visitor_ids)
    for start in range(0, len(ids), 500):
        Visitor.objects.filter(pk__in=ids[start:start + 500]).update(last_seen=timezone.now())
    for visitor_id in Visitor.objects.filter(pk__in=ids, away_since__isnull=False).values_list("pk", flat=True)[:500]:
        mark_visitor_here(visitor_id=visitor_id)


def vanished_since():
    """Visitors not refreshed since then have no open socket anywhere (three visitor heartbeats)."""
    return timezone.now() - timedelta(seconds=3 * settings.CHAT_VISITOR_HEARTBEAT_SECONDS)


@transaction.atomic
def mark_vanished_away(*, visitor_id) -> bool:
    """No process refreshed the visitor (theirs died with the socket open): away since they were last seen."""
    if not Visitor.objects.filter(pk=visitor_id, away_since__isnull=True, last_seen__lt=vanished_since()).update(
        away_since=F("last_seen")
    ):
        return False
    _announce_presence_to_queue(visitor_id)
    return True


# --- events ------------------------------------------------------------------------

def announce_conversation(conversation: Conversation, *, also_experts=()) -> dict:
    """Tell both sides (and any expert who just left it) the conversation's new state."""
    payload = conversation_object(conversation)
    groups = [visitor_group(conversation.visitor_id)]
    if conversation.expert_id:
        groups.append(expert_group(conversation.expert_id))
    groups.extend(expert_group(expert_id) for expert_id in also_experts if expert_id)
    send_event_on_commit(groups, {"type": "chat.conversation", "conversation": payload})
    return payload


# --- conversations --------------------------------------------------------------------

def _lock_visitor(visitor: Visitor) -> None:
    Visitor.objects.select_for_update().filter(pk=visitor.pk).values_list("pk", flat=True).first()


@transaction.atomic
def start_conversation(
    *, visitor: Visitor, text: str, client_id: str, topic_slug: str | None = None, excluded=(), flagged: bool = False,
    nickname: str | None = None, page_path: str = "", page_title: str = "",
) -> Conversation:
    """Open a waiting conversation with its first message and offer it to the experts.

    A retry of the same start (same client id) returns the conversation it made.
    Experts the visitor asked to move on from before stay excluded. A
    ``nickname`` given with the question is set in the same transaction, so a
    refused start leaves it as it was. ``page_path`` and ``page_title``: the brand's page it was
    asked from, as the widget said (validated by chatplatform/protocol.py's ``Page``).
    """
    _lock_visitor(visitor)  # two tabs starting at once: exactly one conversation
    earlier = (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, messages__seq=1, messages__author=Message.Author.VISITOR, messages__client_id=client_id)
        .first()
    )
    if earlier is not None:
        return earlier  # a retry of a start that already happened, even if that conversation has ended
    current = (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status__in=OPEN_STATUSES)
        .first()
    )
    if current is not None:
        raise ChatError(errors.CONVERSATION_OPEN, "You already have an open conversation.")
    topic = None
    if topic_slug:
        # The brand's topics are the experts app's; reached through the relation, not an import of it.
        topic = Conversation.topic.field.related_model.objects.filter(brand_id=visitor.brand_id, slug=topic_slug).first()
        if topic is None:
            raise ChatError(errors.INVALID_FIELD, "Unknown topic.", field="topic")
    name = (nickname or "").strip() or visitor.nickname
    if name != visitor.nickname:
        Visitor.objects.filter(pk=visitor.pk).update(nickname=name)
    conversation = Conversation.objects.create(
        brand_id=visitor.brand_id, visitor=visitor, topic=topic, last_seq=1,
        page_path=page_path, page_title=page_title if page_path else "",
        topic_offer_until=topic_offer_until(topic) if topic is not None else None,
    )
    Message.objects.create(
        conversation=conversation,
        seq=1,
        author=Message.Author.VISITOR,
        author_name=name or VISITOR_DEFAULT_NAME,
        text=text,
        client_id=client_id,
        flagged=flagged,
    )
    previously_excluded = set(excluded) | set(
        Conversation.excluded_experts.through.objects.filter(conversation__visitor=visitor)
        .values_list("expertprofile_id", flat=True)
    )
    if previously_excluded:
        conversation.excluded_experts.add(*previously_excluded)
    conversation = Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation.pk)
    payload = announce_conversation(conversation)
    signals.question_waiting.send(sender=Conversation, conversation=conversation, payload=payload)
    visitor.nickname = name  # the caller's copy, only once nothing can refuse the start
    return conversation


def _lock_conversation(conversation_id) -> Conversation:
    return conversation_or_not_found(conversation_id, lock=True)


@transaction.atomic
def post_system_message(*, conversation_id, text: str, kind: str = Message.Kind.NOTICE, system: dict | None = None) -> Message:
    """Append a message from the system (a moderation warning, a notice) to an open conversation.

    ``system``: its code and parameters (chatplatform/i18n.py), so each reader gets it in their language.
    """
    conversation = _lock_conversation(conversation_id)
    if conversation.status == Conversation.Status.ENDED:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    return append_message(conversation, author=Message.Author.SYSTEM, text=text, client_id=None, author_name=SYSTEM_NAME, kind=kind,
                          system=system)


@transaction.atomic
def end_conversation(*, conversation_id, ended_by: str, expected_expert=None) -> Conversation:
    """End an open conversation; both sides hear of it. Ending twice is refused with `ended`."""
    conversation = _lock_conversation(conversation_id)
    if expected_expert is not None and conversation.expert_id != expected_expert.pk:
        raise ChatError(errors.FORBIDDEN, "This conversation is not assigned to you.")
    if conversation.status == Conversation.Status.ENDED:
        raise ChatError(errors.ENDED, "This conversation has already ended.")
    was_waiting = conversation.status == Conversation.Status.WAITING
    conversation.status = Conversation.Status.ENDED
    conversation.ended_by = ended_by
    conversation.ended_at = timezone.now()
    conversation.save(update_fields=["status", "ended_by", "ended_at"])
    announce_conversation(conversation)
    if was_waiting:
        signals.question_withdrawn.send(sender=Conversation, conversation=conversation)
    return conversation


@transaction.atomic
def end_by_system(*, conversation_id, reason: str, notice: str, still=None, system: dict | None = None) -> Conversation | None:
    """End an open conversation for the worker's sweeps, with a notice both sides read; None if it changed.

    ``still(conversation)``: the sweep's condition, checked again under the row lock
    (a message or a claim that came in meanwhile keeps the conversation open).
    """
    conversation = _lock_conversation(conversation_id)
    if not conversation.is_open or (still is not None and not still(conversation)):
        return None
    append_message(conversation, author=Message.Author.SYSTEM, text=notice, client_id=None, author_name=SYSTEM_NAME,
            kind=Message.Kind.NOTICE, system=system)
    was_waiting = conversation.status == Conversation.Status.WAITING
    conversation.status = Conversation.Status.ENDED
    conversation.ended_by = Conversation.EndedBy.SYSTEM
    conversation.end_reason = reason
    conversation.ended_at = timezone.now()
    conversation.save(update_fields=["status", "ended_by", "end_reason", "ended_at"])
    announce_conversation(conversation)
    if was_waiting:
        signals.question_withdrawn.send(sender=Conversation, conversation=conversation)
    return conversation


def end_visitor_conversation(*, visitor: Visitor) -> Conversation:
    conversation = Conversation.objects.filter(visitor=visitor, status__in=OPEN_STATUSES).only("id").first()
    if conversation is None:
        raise ChatError(errors.NO_CONVERSATION, "You have no open conversation.")
    return end_conversation(conversation_id=conversation.id, ended_by=Conversation.EndedBy.VISITOR)


@transaction.atomic
def rate_conversation(*, visitor: Visitor, score: int, comment: str | None) -> Conversation:
    """Rate the visitor's most recently ended conversation.

    Rating again replaces the rating, at most CHAT_RATING_CHANGES times (each change is a write
    and a push to the other side); the same rating again changes nothing.
    """
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status=Conversation.Status.ENDED)
        .order_by("-ended_at")
        .first()
    )
    if conversation is None:
        raise ChatError(errors.NO_CONVERSATION, "There is no ended conversation to rate.")
    comment = (comment or "").strip()
    fields = ["rating_score", "rating_comment", "rated_at"]
    if conversation.rated_at is not None:
        if (conversation.rating_score, conversation.rating_comment) == (score, comment):
            return conversation  # the same rating again: nothing to write or to tell anyone
        if conversation.rating_changes >= settings.CHAT_RATING_CHANGES:
            raise ChatError(
                errors.RATE_LIMITED,
                f"This conversation's rating was already changed {conversation.rating_changes} times; it stays as it is.",
            )
        conversation.rating_changes += 1
        fields.append("rating_changes")
    conversation.rating_score = score
    conversation.rating_comment = comment
    conversation.rated_at = timezone.now()
    conversation.save(update_fields=fields)
    announce_conversation(conversation)
    return conversation


# --- typing and read marks ------------------------------------------------------------

def mark_read(*, conversation_id, reader: str, seq: int) -> int | None:
    """Move the reader's read mark forward (never back, never past the last message).

    The caller has checked access. Return the new mark, or None when it did not move.
    """
    field = "visitor_read_seq" if reader == "visitor" else "expert_read_seq"
    with transaction.atomic():
        updated = (
            Conversation.objects.filter(pk=conversation_id, **{f"{field}__lt": seq})
            .filter(last_seq__gt=F(field))
            .update(**{field: Least(seq, F("last_seq"))})
        )
        if not updated:
            return None
        mark = Conversation.objects.filter(pk=conversation_id).values_list(field, flat=True).first()
        send_event_on_commit(
            conversation_group(conversation_id),
            {"type": "chat.read", "conversation": str(conversation_id), "reader": reader, "seq": mark},
        )
    return mark


async def relay_typing(*, conversation_id, author: str, active: bool) -> None:
    """Typing is not stored: tell the conversation's sockets at once."""
    await send_event_now(
        conversation_group(conversation_id),
        {"type": "chat.typing", "conversation": str(conversation_id), "author": author, "active": active},
    )
