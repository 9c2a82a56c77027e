"""Every write of the messaging core, and the events each one sends after commit.

Sequence numbers are allocated under a row lock on the conversation, inside the
transaction that stores the message, so they never repeat or skip; a client id
seen before returns the stored row instead of a second one.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.events import send_event_now, send_event_on_commit
from chatplatform.groups import conversation_group, expert_group, queue_group, visitor_group
from chatplatform.statements import Param, UpdateStatement

from .models import OPEN_STATUSES, Brand, Conversation, Message, Visitor
from .serializers import SYSTEM_NAME, VISITOR_DEFAULT_NAME, conversation_object, message_object
from .selectors import CONVERSATION_RELATED, conversation_or_not_found, parse_conversation_id
from .tokens import hash_token, new_token


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
    """A waiting question's entry in the experts' queues shows whether its visitor is here (queue.updated)."""
    send_event_on_commit(queue_group(brand_slug), {"type": "queue.updated", "conversation": conversation})


def _announce_presence_to_queue(visitor_id) -> None:
    waiting = (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(visitor_id=visitor_id, status=Conversation.Status.WAITING)
        .first()
    )
    if waiting is not None:
        announce_in_queue(waiting.brand.slug, conversation_object(waiting))


@transaction.atomic
def mark_visitor_away(*, visitor_id) -> bool:
    """The visitor's socket closed: note since when they are away; return whether they were here.

    Their other open sockets (another tab, maybe on another process) hear
    ``visitor.presence`` and mark them here again.
    """
    if not Visitor.objects.filter(pk=visitor_id, away_since__isnull=True).update(away_since=timezone.now()):
        return False
    _announce_presence_to_queue(visitor_id)
    send_event_on_commit(visitor_group(visitor_id), {"type": "visitor.presence", "visitor": str(visitor_id)})
    return True


@transaction.atomic
def mark_visitor_here(*, visitor_id) -> bool:
    """One of the visitor's sockets is still open: they are here (after another socket of theirs closed)."""
    if not Visitor.objects.filter(pk=visitor_id, away_since__isnull=False).update(away_since=None):
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


def offer_to_queue(conversation: Conversation, *, payload: dict | None = None) -> None:
    """Offer a waiting conversation to the brand's online experts (minus the excluded)."""
    first = conversation.messages.filter(author=Message.Author.VISITOR).order_by("seq").values_list("text", flat=True).first()
    excluded = [str(pk) for pk in conversation.excluded_experts.values_list("pk", flat=True)]
    send_event_on_commit(
        queue_group(conversation.brand.slug),
        {
            "type": "queue.added",
            "conversation": payload or conversation_object(conversation),
            "preview": (first or "")[:280],
            "excluded": excluded,
        },
    )


def withdraw_from_queue(conversation: Conversation) -> None:
    send_event_on_commit(
        queue_group(conversation.brand.slug), {"type": "queue.removed", "conversation": str(conversation.id)}
    )


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
    offer_to_queue(conversation, payload=payload)
    visitor.nickname = name  # the caller's copy, only once nothing can refuse the start
    return conversation


def _lock_conversation(conversation_id) -> Conversation:
    return conversation_or_not_found(conversation_id, lock=True)


def _append(
    conversation: Conversation, *, author: str, text: str, client_id: str | None, author_name: str,
    expert=None, kind: str = Message.Kind.TEXT, flagged: bool = False,
) -> Message:
    """Store the next message of a locked conversation and ring the doorbell after commit."""
    seq = conversation.last_seq + 1
    message = Message.objects.create(
        conversation_id=conversation.id, seq=seq, author=author, expert=expert, author_name=author_name,
        kind=kind, text=text, client_id=client_id, flagged=flagged,
    )
    Conversation.objects.filter(pk=conversation.id).update(last_seq=seq)
    conversation.last_seq = seq
    send_event_on_commit(conversation_group(conversation.id), {"type": "chat.message", "message": message_object(message)})
    return message


# --- the message hot path on PostgreSQL -------------------------------------------------
# The ORM path above takes six statements per message (lock with four joins, the
# client-id lookup, insert, seq update). On PostgreSQL one UPDATE ... RETURNING
# both locks the conversation row and allocates the next seq, and one
# INSERT ... ON CONFLICT DO NOTHING stores the message unless its client id was
# seen: two statements. Anything unusual (no open conversation, a retried
# client id, not assigned) rolls that back and takes the ORM path, which gives
# the exact answer; so behaviour is the same, only the common case is cheaper.

class _TakeTheLongWay(Exception):
    """The fast path cannot answer this one: roll it back, let the ORM path decide."""


def _fast_path() -> bool:
    return connection.vendor == "postgresql"


_INSERT_MESSAGE = """
    INSERT INTO {message} (conversation_id, seq, author, expert_id, author_name, kind, text, client_id, flagged, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (conversation_id, author, client_id) DO NOTHING
    RETURNING id
"""


# The fast path's statements, shared by the thread (below) and the event loop (visitors/loop_messages.py).

def visitor_seq_statement(visitor: Visitor, only_if=None) -> tuple[str, list]:
    """Lock the visitor's open conversation and take its next seq, if ``only_if`` (SQL, params) holds: (id, seq)."""
    condition, condition_params = only_if or ("TRUE", [])
    return (
        f"UPDATE {Conversation._meta.db_table} SET last_seq = last_seq + 1"
        f" WHERE visitor_id = %s AND status IN (%s, %s) AND {condition} RETURNING id, last_seq",
        [visitor.pk, *(status.value for status in OPEN_STATUSES), *condition_params],
    )


def expert_seq_statement(expert, conversation_id) -> tuple[str, list]:
    """Lock the conversation if it is active, assigned to ``expert`` and in one of their brands; take its next seq."""
    from experts.models import ExpertProfile  # the table name only: visitors never calls experts' services

    brands = ExpertProfile.brands.through._meta.db_table
    return (
        f"UPDATE {Conversation._meta.db_table} SET last_seq = last_seq + 1"
        " WHERE id = %s AND expert_id = %s AND status = %s"
        f" AND brand_id IN (SELECT brand_id FROM {brands} WHERE expertprofile_id = %s)"
        " RETURNING last_seq",
        [conversation_id, expert.pk, Conversation.Status.ACTIVE.value, expert.pk],
    )


def new_text_message(*, conversation_id, seq: int, author: str, expert_id, author_name: str, text: str,
                     client_id: str, flagged: bool) -> Message:
    """The message the fast path is about to insert (its id comes back from the INSERT)."""
    return Message(
        conversation_id=conversation_id, seq=seq, author=author, expert_id=expert_id, author_name=author_name,
        kind=Message.Kind.TEXT, text=text, client_id=client_id, flagged=flagged, created_at=timezone.now(),
    )


def insert_statement(message: Message) -> tuple[str, list]:
    """Store ``message`` unless its client id was seen in the conversation: RETURNING its id, or no row."""
    return (
        _INSERT_MESSAGE.format(message=Message._meta.db_table),
        [message.conversation_id, message.seq, str(message.author), message.expert_id, message.author_name,
         Message.Kind.TEXT.value, message.text, message.client_id, message.flagged, message.created_at],
    )


def message_event(message: Message) -> tuple[str, dict]:
    """The group and event that ring the doorbell for a stored message."""
    return conversation_group(message.conversation_id), {"type": "chat.message", "message": message_object(message)}


def _insert_fast(cursor, **fields) -> Message:
    message = new_text_message(**fields)
    cursor.execute(*insert_statement(message))
    row = cursor.fetchone()
    if row is None:  # this client id was seen before: a retry
        raise _TakeTheLongWay
    message.id = row[0]
    send_event_on_commit(*message_event(message))
    return message


def _fast_visitor_message(*, visitor: Visitor, text: str, client_id: str, flagged: bool, only_if) -> Message | None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(*visitor_seq_statement(visitor, only_if))
            rows = cursor.fetchall()
            if len(rows) != 1:  # none open (or, never expected, two): the ORM path answers
                raise _TakeTheLongWay
            conversation_id, seq = rows[0]
            return _insert_fast(
                cursor, conversation_id=conversation_id, seq=seq, author=Message.Author.VISITOR, expert_id=None,
                author_name=visitor.nickname or VISITOR_DEFAULT_NAME, text=text, client_id=client_id, flagged=flagged,
            )
    except _TakeTheLongWay:
        return None


def _fast_expert_message(*, expert, conversation_id, text: str, client_id: str) -> Message | None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(*expert_seq_statement(expert, conversation_id))
            row = cursor.fetchone()
            if row is None:  # not found, not assigned, ended: the ORM path gives the right error
                raise _TakeTheLongWay
            return _insert_fast(
                cursor, conversation_id=conversation_id, seq=row[0], author=Message.Author.EXPERT, expert_id=expert.pk,
                author_name=expert.display_name, text=text, client_id=client_id, flagged=False,
            )
    except _TakeTheLongWay:
        return None


def _retried(message: Message) -> Message:
    """A retry of a stored message rings its doorbell again (no message is stored twice).

    The first try may have committed and then lost its answer (the connection
    dropped after COMMIT): its client retries, and its event never left. Every
    socket skips a seq it has delivered, so a second ring costs a skipped event.
    """
    send_event_on_commit(*message_event(message))
    return message


def _stored(conversation_id, author: str, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return Message.objects.filter(conversation_id=conversation_id, author=author, client_id=client_id).first()


def send_visitor_message(
    *, visitor: Visitor, text: str, client_id: str, flagged: bool = False, only_if=None, check=None
) -> tuple[Message, bool]:
    """Append the visitor's message to their open conversation.

    Return ``(message, created)``; a client id seen before returns the stored
    message with ``created`` False, even once the conversation has ended.

    ``check`` (raises ChatError to refuse) runs before the message is stored;
    ``only_if`` is the same rule as an SQL condition ``(sql, params)``, which the
    PostgreSQL fast path puts in its UPDATE instead of calling ``check``: the
    moderation block check (moderation.selectors.no_active_block_sql) then
    costs no statement of its own. When the fast path cannot answer, ``check``
    runs and the ORM path stores the message.
    """
    if _fast_path() and client_id and (only_if is not None or check is None):
        message = _fast_visitor_message(visitor=visitor, text=text, client_id=client_id, flagged=flagged, only_if=only_if)
        if message is not None:
            return message, True
    if check is not None:
        check()
    return _send_visitor_message(visitor=visitor, text=text, client_id=client_id, flagged=flagged)


@transaction.atomic
def _send_visitor_message(*, visitor: Visitor, text: str, client_id: str, flagged: bool) -> tuple[Message, bool]:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status__in=OPEN_STATUSES)
        .first()
    )
    if conversation is None:
        earlier = Message.objects.filter(
            conversation__visitor=visitor, author=Message.Author.VISITOR, client_id=client_id
        ).first()
        if earlier is not None:
            return _retried(earlier), False
        raise ChatError(errors.NO_CONVERSATION, "Start a conversation first.")
    existing = _stored(conversation.id, Message.Author.VISITOR, client_id)
    if existing is not None:
        return _retried(existing), False
    message = _append(
        conversation, author=Message.Author.VISITOR, text=text, client_id=client_id,
        author_name=visitor.nickname or VISITOR_DEFAULT_NAME, flagged=flagged,
    )
    return message, True


def send_expert_message(*, expert, conversation_id, text: str, client_id: str) -> tuple[Message, bool]:
    """Append the assigned expert's message; anyone else is refused."""
    pk = parse_conversation_id(conversation_id)
    if _fast_path() and client_id:
        message = _fast_expert_message(expert=expert, conversation_id=pk, text=text, client_id=client_id)
        if message is not None:
            return message, True
    return _send_expert_message(expert=expert, pk=pk, text=text, client_id=client_id)


@transaction.atomic
def _send_expert_message(*, expert, pk, text: str, client_id: str) -> tuple[Message, bool]:
    conversation = _lock_conversation(pk)
    if not expert.brands.filter(pk=conversation.brand_id).exists():
        raise ChatError(errors.NOT_FOUND, "No such conversation.")
    existing = _stored(conversation.id, Message.Author.EXPERT, client_id)
    if existing is not None and existing.expert_id == expert.pk:
        return _retried(existing), False
    if conversation.expert_id != expert.pk:
        raise ChatError(errors.FORBIDDEN, "This conversation is not assigned to you.")
    if conversation.status == Conversation.Status.ENDED:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    if existing is not None:
        raise ChatError(errors.INVALID_FIELD, "This client_id was already used in this conversation.", field="client_id")
    message = _append(
        conversation, author=Message.Author.EXPERT, text=text, client_id=client_id,
        author_name=expert.display_name, expert=expert,
    )
    return message, True


@transaction.atomic
def post_system_message(*, conversation_id, text: str, kind: str = Message.Kind.NOTICE) -> Message:
    """Append a message from the system (a moderation warning, a notice) to an open conversation."""
    conversation = _lock_conversation(conversation_id)
    if conversation.status == Conversation.Status.ENDED:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    return _append(conversation, author=Message.Author.SYSTEM, text=text, client_id=None, author_name=SYSTEM_NAME, kind=kind)


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
        withdraw_from_queue(conversation)
    return conversation


@transaction.atomic
def end_by_system(*, conversation_id, reason: str, notice: str, still=None) -> Conversation | None:
    """End an open conversation for the worker's sweeps, with a notice both sides read; None if it changed.

    ``still(conversation)``: the sweep's condition, checked again under the row lock
    (a message or a claim that came in meanwhile keeps the conversation open).
    """
    conversation = _lock_conversation(conversation_id)
    if not conversation.is_open or (still is not None and not still(conversation)):
        return None
    _append(conversation, author=Message.Author.SYSTEM, text=notice, client_id=None, author_name=SYSTEM_NAME,
            kind=Message.Kind.NOTICE)
    was_waiting = conversation.status == Conversation.Status.WAITING
    conversation.status = Conversation.Status.ENDED
    conversation.ended_by = Conversation.EndedBy.SYSTEM
    conversation.end_reason = reason
    conversation.ended_at = timezone.now()
    conversation.save(update_fields=["status", "ended_by", "end_reason", "ended_at"])
    announce_conversation(conversation)
    if was_waiting:
        withdraw_from_queue(conversation)
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
