"""The message store: every chat message a visitor or an expert sends is stored here, and only here.

One interface: ``send_visitor_message`` and ``send_expert_message`` (for the
sockets, on the event loop) return ``Stored``, ``Retry`` (the client id was
seen: the stored message, its doorbell rung again) or ``Refused`` (the
protocol error). The synchronous ``store_visitor_message`` /
``store_expert_message`` are the same for code already in a database thread.

Behind it, one of three backends, chosen once from settings (and again only
when a test changes them):

* ``orm``: Django's ORM in the database thread (SQLite, or PostgreSQL with
  nothing else on). Sequence numbers are taken under a row lock on the
  conversation, in the transaction that stores the message, so they never
  repeat or skip. Six statements for a visitor's message, seven for an expert's.
* ``sql`` (PostgreSQL): first two statements in the thread, one UPDATE ...
  RETURNING that locks the conversation and takes the next seq (the block rule
  and the access rule folded into its WHERE), one INSERT ... ON CONFLICT DO
  NOTHING that stores the message unless its client id was seen. Anything
  unusual (none open, a retried client id, blocked, not assigned) rolls back
  and takes the ORM path, which gives the exact answer.
* ``loop`` (PostgreSQL, CHAT_ASYNC_DB on): the same two statements from the
  event loop on its own psycopg connections (chatplatform/asyncdb.py), no
  thread at all; whatever they cannot answer, or a connection that failed,
  goes the ``sql`` way through the thread. A flagged message (the moderation
  note rides in its thread call) goes that way from the start.

A message with a picture (``attachment``: an upload's id, visitors/attachments.py)
always takes the ORM path, whatever the backend: the picture is checked and
linked under the conversation's lock, in the message's transaction. Pictures
are rare next to text, and this keeps the two fast statements as they are.

The fallback decision is ``_send`` below, nowhere else. The block rule comes in
as an object (moderation/blocks.py's BlockPolicy: ``check()`` and
``condition()``), never as SQL built by the caller.
"""

from __future__ import annotations

import logging
from functools import cache

from django.core.signals import setting_changed
from django.db import connection, transaction
from django.utils import timezone

from chatplatform import asyncdb, errors
from chatplatform.db import database_sync_to_async
from chatplatform.delivery import Refused, Retry, Stored
from chatplatform.errors import ChatError
from chatplatform.events import send_event_on_commit, send_event_on_loop
from chatplatform.groups import conversation_group
from chatplatform.throttled_log import ThrottledWarning

from .attachments import take_for_message
from .models import OPEN_STATUSES, Attachment, Conversation, Message, Visitor
from .selectors import conversation_or_not_found, parse_conversation_id
from .serializers import VISITOR_DEFAULT_NAME, message_object

logger = logging.getLogger(__name__)


# --- the backend, chosen once --------------------------------------------------------------

@cache
def backend() -> str:
    """``loop``, ``sql`` or ``orm`` (module docstring), from settings."""
    if asyncdb.enabled():
        return "loop"
    return "sql" if connection.vendor == "postgresql" else "orm"


def _settings_changed(setting, **kwargs):
    if setting in ("CHAT_ASYNC_DB", "DATABASES"):
        backend.cache_clear()


setting_changed.connect(_settings_changed)


# --- for the sockets --------------------------------------------------------------------

async def send_visitor_message(*, visitor: Visitor, text: str, client_id: str, blocks, flagged: bool = False,
                               note_flagged=None, attachment: str | None = None) -> Stored | Retry | Refused:
    """Store the visitor's message in their open conversation, unless ``blocks`` (a BlockPolicy) holds.

    ``note_flagged(message)``: called in the same thread call for a new flagged message (moderation's note).
    ``attachment``: the id of the visitor's upload to this conversation (the ORM path).
    """
    loop_statement = None
    if not flagged and attachment is None and backend() == "loop":
        loop_statement = _visitor_seq_statement(visitor, blocks.condition())
    return await _send(
        loop_statement, loop_fields=dict(author=Message.Author.VISITOR, expert_id=None, author_name=_visitor_name(visitor)),
        thread=_thread_visitor, visitor=visitor, text=text, client_id=client_id, blocks=blocks, flagged=flagged,
        note_flagged=note_flagged, attachment=attachment,
    )


async def send_expert_message(*, expert, conversation_id, text: str, client_id: str,
                              attachment: str | None = None) -> Stored | Retry | Refused:
    """Store the assigned expert's message in an active conversation of one of their brands."""
    try:
        pk = parse_conversation_id(conversation_id)
    except ChatError as exc:
        return Refused(exc)
    loop_statement = _expert_seq_statement(expert, pk) if backend() == "loop" and attachment is None else None
    return await _send(
        loop_statement, loop_fields=dict(conversation_id=pk, author=Message.Author.EXPERT, expert_id=expert.pk,
                                         author_name=expert.display_name),
        thread=_thread_expert, expert=expert, conversation_id=pk, text=text, client_id=client_id, attachment=attachment,
    )


async def _send(loop_statement, *, loop_fields: dict, thread, **call) -> Stored | Retry | Refused:
    """The fallback decision: the loop's two statements if they may answer, else the thread's way."""
    if loop_statement is not None and call["client_id"]:
        message = await _loop_store(loop_statement, text=call["text"], client_id=call["client_id"], **loop_fields)
        if message is not None:
            return Stored(message_object(message))
    return await database_sync_to_async(thread)(**call)


def _thread_visitor(*, note_flagged=None, **call) -> Stored | Retry | Refused:
    try:
        message, created = store_visitor_message(**call)
    except ChatError as exc:
        return Refused(exc)
    if created and call.get("flagged") and note_flagged is not None:
        note_flagged(message)
    return Stored(message_object(message)) if created else Retry(message_object(message))


def _thread_expert(**call) -> Stored | Retry | Refused:
    try:
        message, created = store_expert_message(**call)
    except ChatError as exc:
        return Refused(exc)
    return Stored(message_object(message)) if created else Retry(message_object(message))


# --- in the database thread ---------------------------------------------------------------

def store_visitor_message(
    *, visitor: Visitor, text: str, client_id: str, flagged: bool = False, blocks=None, attachment: str | None = None
) -> tuple[Message, bool]:
    """Append the visitor's message to their open conversation: ``(message, created)``.

    A client id seen before returns the stored message with ``created`` False, even
    once the conversation has ended. ``blocks`` (a BlockPolicy) refuses a blocked visitor.
    ``attachment``: the id of the visitor's own upload to that conversation, not sent before.
    """
    if backend() != "orm" and client_id and attachment is None:
        condition = blocks.condition() if blocks is not None else None
        message = _fast_visitor_message(visitor=visitor, text=text, client_id=client_id, flagged=flagged, only_if=condition)
        if message is not None:
            return message, True
    if blocks is not None:
        blocks.check()
    return _orm_visitor_message(visitor=visitor, text=text, client_id=client_id, flagged=flagged, attachment=attachment)


def store_expert_message(*, expert, conversation_id, text: str, client_id: str,
                         attachment: str | None = None) -> tuple[Message, bool]:
    """Append the assigned expert's message; anyone else is refused."""
    pk = parse_conversation_id(conversation_id)
    if backend() != "orm" and client_id and attachment is None:
        message = _fast_expert_message(expert=expert, conversation_id=pk, text=text, client_id=client_id)
        if message is not None:
            return message, True
    return _orm_expert_message(expert=expert, pk=pk, text=text, client_id=client_id, attachment=attachment)


def append_message(
    conversation: Conversation, *, author: str, text: str, client_id: str | None, author_name: str,
    expert=None, kind: str = Message.Kind.TEXT, flagged: bool = False, attachment=None, system: dict | None = None,
) -> Message:
    """Store the next message of a conversation the caller has locked, and ring the doorbell after commit."""
    seq = conversation.last_seq + 1
    message = Message.objects.create(
        conversation_id=conversation.id, seq=seq, author=author, expert=expert, author_name=author_name,
        kind=kind, text=text, client_id=client_id, flagged=flagged, attachment=attachment, system=system,
    )
    Conversation.objects.filter(pk=conversation.id).update(last_seq=seq)
    conversation.last_seq = seq
    send_event_on_commit(*message_event(message))
    return message


def message_event(message: Message) -> tuple[str, dict]:
    """The group and event that ring the doorbell for a stored message."""
    return conversation_group(message.conversation_id), {"type": "chat.message", "message": message_object(message)}


def _visitor_name(visitor: Visitor) -> str:
    return visitor.nickname or VISITOR_DEFAULT_NAME


def _retried(message: Message) -> Message:
    # The first try may have committed and then lost its answer (the connection dropped
    # after COMMIT): its event never left. Every socket skips a seq it has delivered,
    # so ringing again costs a skipped event at worst.
    send_event_on_commit(*message_event(message))
    return message


def _stored(conversation_id, author: str, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return Message.objects.filter(conversation_id=conversation_id, author=author, client_id=client_id).first()


@transaction.atomic
def _orm_visitor_message(*, visitor: Visitor, text: str, client_id: str, flagged: bool,
                         attachment: str | None = None) -> tuple[Message, bool]:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("brand", "visitor", "expert", "topic")
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
    picture = None
    if attachment is not None:
        picture = take_for_message(attachment_id=attachment, conversation_id=conversation.id,
                                   uploaded_by=Attachment.Uploader.VISITOR)
    message = append_message(
        conversation, author=Message.Author.VISITOR, text=text, client_id=client_id,
        author_name=_visitor_name(visitor), flagged=flagged, attachment=picture,
    )
    return message, True


@transaction.atomic
def _orm_expert_message(*, expert, pk, text: str, client_id: str, attachment: str | None = None) -> tuple[Message, bool]:
    conversation = conversation_or_not_found(pk, lock=True)
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
    picture = None
    if attachment is not None:
        picture = take_for_message(attachment_id=attachment, conversation_id=conversation.id,
                                   uploaded_by=Attachment.Uploader.EXPERT, expert_id=expert.pk)
    message = append_message(
        conversation, author=Message.Author.EXPERT, text=text, client_id=client_id,
        author_name=expert.display_name, expert=expert, attachment=picture,
    )
    return message, True


# --- the two statements (PostgreSQL), shared by the thread and the loop --------------------

class _TakeTheLongWay(Exception):
    """The two statements cannot answer this one: roll back, let the ORM path decide."""


_INSERT_MESSAGE = """
    INSERT INTO {message} (conversation_id, seq, author, expert_id, author_name, kind, text, client_id, flagged, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (conversation_id, author, client_id) DO NOTHING
    RETURNING id
"""


def _visitor_seq_statement(visitor: Visitor, only_if=None) -> tuple[str, list]:
    """Lock the visitor's open conversation and take its next seq, if ``only_if`` (SQL, params) holds: (id, seq)."""
    condition, condition_params = only_if or ("TRUE", [])
    return (
        f"UPDATE {Conversation._meta.db_table} SET last_seq = last_seq + 1"
        f" WHERE visitor_id = %s AND status IN (%s, %s) AND {condition} RETURNING id, last_seq",
        [visitor.pk, *(status.value for status in OPEN_STATUSES), *condition_params],
    )


def _expert_seq_statement(expert, conversation_id) -> tuple[str, list]:
    """Lock the conversation if it is active, assigned to ``expert`` and in one of their brands; take its next seq."""
    # The experts' brand table, reached through the relation: the store does not import the experts app.
    brands = Conversation.expert.field.related_model.brands.through._meta.db_table
    return (
        f"UPDATE {Conversation._meta.db_table} SET last_seq = last_seq + 1"
        " WHERE id = %s AND expert_id = %s AND status = %s"
        f" AND brand_id IN (SELECT brand_id FROM {brands} WHERE expertprofile_id = %s)"
        " RETURNING last_seq",
        [conversation_id, expert.pk, Conversation.Status.ACTIVE.value, expert.pk],
    )


def _new_text_message(*, conversation_id, seq: int, author: str, expert_id, author_name: str, text: str,
                      client_id: str, flagged: bool) -> Message:
    """The message about to be inserted (its id comes back from the INSERT)."""
    return Message(
        conversation_id=conversation_id, seq=seq, author=author, expert_id=expert_id, author_name=author_name,
        kind=Message.Kind.TEXT, text=text, client_id=client_id, flagged=flagged, created_at=timezone.now(),
    )


def _insert_statement(message: Message) -> tuple[str, list]:
    """Store ``message`` unless its client id was seen in the conversation: RETURNING its id, or no row."""
    return (
        _INSERT_MESSAGE.format(message=Message._meta.db_table),
        [message.conversation_id, message.seq, str(message.author), message.expert_id, message.author_name,
         Message.Kind.TEXT.value, message.text, message.client_id, message.flagged, message.created_at],
    )


def _insert_fast(cursor, **fields) -> Message:
    message = _new_text_message(**fields)
    cursor.execute(*_insert_statement(message))
    row = cursor.fetchone()
    if row is None:  # this client id was seen before: a retry
        raise _TakeTheLongWay
    message.id = row[0]
    send_event_on_commit(*message_event(message))
    return message


def _fast_visitor_message(*, visitor: Visitor, text: str, client_id: str, flagged: bool, only_if) -> Message | None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(*_visitor_seq_statement(visitor, only_if))
            rows = cursor.fetchall()
            if len(rows) != 1:  # none open (or, never expected, two): the ORM path answers
                raise _TakeTheLongWay
            conversation_id, seq = rows[0]
            return _insert_fast(
                cursor, conversation_id=conversation_id, seq=seq, author=Message.Author.VISITOR, expert_id=None,
                author_name=_visitor_name(visitor), text=text, client_id=client_id, flagged=flagged,
            )
    except _TakeTheLongWay:
        return None


def _fast_expert_message(*, expert, conversation_id, text: str, client_id: str) -> Message | None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(*_expert_seq_statement(expert, conversation_id))
            row = cursor.fetchone()
            if row is None:  # not found, not assigned, ended: the ORM path gives the right error
                raise _TakeTheLongWay
            return _insert_fast(
                cursor, conversation_id=conversation_id, seq=row[0], author=Message.Author.EXPERT, expert_id=expert.pk,
                author_name=expert.display_name, text=text, client_id=client_id, flagged=False,
            )
    except _TakeTheLongWay:
        return None


# --- the same two statements from the event loop -------------------------------------------

# A storm must not log a line per message: one per 10 s at most, with how many fell back meanwhile.
_fallback = ThrottledWarning(logger, "hot-path database unavailable (%s); using the database thread")


def _fallback_warning(exc: Exception) -> None:
    _fallback.warn(type(exc).__name__)


async def _loop_store(seq_statement, *, conversation_id=None, author: str, expert_id, author_name: str, text: str,
                      client_id: str) -> Message | None:
    """Store a message on the loop's own connections; None when the thread's way must answer."""
    import psycopg

    try:
        pool = await asyncdb.pool()
        async with pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(*seq_statement)).fetchall()
            if len(rows) != 1:
                raise _TakeTheLongWay
            if conversation_id is None:  # the visitor's statement names the conversation it found
                conversation_id, seq = rows[0]
            else:
                (seq,) = rows[0]
            message = _new_text_message(
                conversation_id=conversation_id, seq=seq, author=author, expert_id=expert_id,
                author_name=author_name, text=text, client_id=client_id, flagged=False,
            )
            inserted = await (await conn.execute(*_insert_statement(message))).fetchone()
            if inserted is None:  # a retry of a client id seen before
                raise _TakeTheLongWay
            message.id = inserted[0]
    except _TakeTheLongWay:
        return None
    except psycopg.Error as exc:  # the thread's way reports it (`unavailable`) or gets through
        _fallback_warning(exc)
        return None
    # After the COMMIT is back, through the same ordered sender as every other event.
    send_event_on_loop(*message_event(message))
    return message
