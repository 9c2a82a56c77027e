"""Rows for the analytics tests, dated as a test needs (auto_now_add dates are overwritten)."""

import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

from visitors.models import Conversation, Message, Visitor

UTC = dt_timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_conversation(brand, start, *, topic=None, expert=None, rating=None, answers=(), warnings=(), nickname="Sam"):
    """A conversation started at ``start`` with the visitor's question, then expert texts ``answers``:
    (expert, seconds after the start) and politeness warnings ``warnings`` (seconds after the start)."""
    visitor = Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex, nickname=nickname)
    conversation = Conversation.objects.create(
        brand=brand, visitor=visitor, topic=topic, expert=expert, rating_score=rating,
        status=Conversation.Status.ENDED if answers else Conversation.Status.WAITING,
    )
    lines = [(0, Message.Author.VISITOR, None, Message.Kind.TEXT)]
    lines += [(seconds, Message.Author.EXPERT, who, Message.Kind.TEXT) for who, seconds in answers]
    lines += [(seconds, Message.Author.EXPERT, None, Message.Kind.WARNING) for seconds in warnings]
    for seq, (seconds, author, who, kind) in enumerate(sorted(lines, key=lambda line: line[0]), start=1):
        message = Message.objects.create(conversation=conversation, seq=seq, author=author, expert=who, kind=kind,
                                         text="Hello", author_name=who.display_name if who else "")
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(seconds=seconds))
    Conversation.objects.filter(pk=conversation.pk).update(created_at=start, last_seq=len(lines))
    return conversation


def dated(model, when, **fields):
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(created_at=when)
    return row
