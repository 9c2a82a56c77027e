"""Store a chat message from the event loop itself: the fast path without a thread.

The statements are the fast path's in visitors/services.py: one UPDATE ...
RETURNING locks the conversation and takes its seq, one INSERT ... ON CONFLICT
stores the message. They run on the loop's own psycopg connections
(chatplatform/asyncdb.py). The doorbell event goes out once the COMMIT is
back, through the same ordered sender as every other event.

Anything else returns None and the caller takes the usual way through the
database thread, which gives the exact answer. That covers a retried client id,
no open conversation, a block, not being assigned, a flagged message, no
PostgreSQL, and a connection that failed.
"""

import logging

from chatplatform import asyncdb
from chatplatform.events import send_event_on_loop
from chatplatform.throttled_log import ThrottledWarning

from . import services
from .models import Message, Visitor
from .serializers import VISITOR_DEFAULT_NAME

logger = logging.getLogger(__name__)


# A storm must not log a line per message: one per 10 s at most, with how many fell back meanwhile.
_fallback = ThrottledWarning(logger, "hot-path database unavailable (%s); using the database thread")


def _fallback_warning(exc: Exception) -> None:
    _fallback.warn(type(exc).__name__)


class _LongWay(Exception):
    """Roll back; the database thread's path answers this one."""


async def _store(
    seq_statement, *, conversation_id=None, author: str, expert_id, author_name: str, text: str, client_id: str,
    flagged: bool,
) -> Message | None:
    import psycopg

    if not client_id or not asyncdb.enabled():
        return None
    try:
        pool = await asyncdb.pool()
        async with pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(*seq_statement)).fetchall()
            if len(rows) != 1:
                raise _LongWay
            if conversation_id is None:  # the visitor's statement names the conversation it found
                conversation_id, seq = rows[0]
            else:
                (seq,) = rows[0]
            message = services.new_text_message(
                conversation_id=conversation_id, seq=seq, author=author, expert_id=expert_id,
                author_name=author_name, text=text, client_id=client_id, flagged=flagged,
            )
            inserted = await (await conn.execute(*services.insert_statement(message))).fetchone()
            if inserted is None:  # a retry of a client id seen before
                raise _LongWay
            message.id = inserted[0]
    except _LongWay:
        return None
    except psycopg.Error as exc:  # the thread's path reports it (`unavailable`) or gets through
        _fallback_warning(exc)
        return None
    send_event_on_loop(*services.message_event(message))
    return message


async def visitor_message(*, visitor: Visitor, text: str, client_id: str, only_if) -> Message | None:
    """The visitor's message stored in their open conversation if ``only_if`` (SQL, params) holds, else None."""
    return await _store(
        services.visitor_seq_statement(visitor, only_if), author=Message.Author.VISITOR, expert_id=None,
        author_name=visitor.nickname or VISITOR_DEFAULT_NAME, text=text, client_id=client_id, flagged=False,
    )


async def expert_message(*, expert, conversation_id, text: str, client_id: str) -> Message | None:
    """The assigned expert's message stored in an active conversation of theirs, else None."""
    return await _store(
        services.expert_seq_statement(expert, conversation_id), conversation_id=conversation_id,
        author=Message.Author.EXPERT, expert_id=expert.pk, author_name=expert.display_name, text=text,
        client_id=client_id, flagged=False,
    )
