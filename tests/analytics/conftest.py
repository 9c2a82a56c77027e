"""Fixed data for the analytics figures: March 2026 at Acme, with rows just outside it and at Globex.

The expected figures are worked out by hand in the tests (tests/analytics/test_figures.py).
"""

import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from experts.models import Topic
from moderation.models import Alert, Block, ReportTicket
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


@pytest.fixture
def march(brand, other_brand, make_expert, django_user_model):
    """Acme's March 2026 (UTC): five conversations, three answered after 60, 180 and 300 s."""
    alice = make_expert("alice", brands=[brand], display_name="Alice")
    bob = make_expert("bob", brands=[brand], display_name="Bob")
    gina = make_expert("gina", brands=[other_brand], display_name="=Gina")
    sizing = Topic.objects.create(brand=brand, slug="sizing", name="Sizing and fit")
    conversations = {
        # Monday 2 March, 09:15 and 09:40 UTC.
        "c1": make_conversation(brand, at("2026-03-02T09:15:00"), topic=sizing, expert=alice, rating=5, answers=[(alice, 60)]),
        "c2": make_conversation(brand, at("2026-03-02T09:40:00"), expert=bob, rating=4, answers=[(bob, 180)]),
        # Tuesday 3 March, 14:05: Alice answered, then handed it to Bob, who held it when it was rated.
        "c3": make_conversation(brand, at("2026-03-03T14:05:00"), topic=sizing, expert=bob, rating=2,
                                answers=[(alice, 300), (bob, 400)]),
        # Wednesday 4 March, 23:30 UTC (Thursday 00:30 in Paris): only a politeness warning, no answer.
        "c4": make_conversation(brand, at("2026-03-04T23:30:00"), topic=sizing, warnings=[30]),
        # Thursday 5 March, 10:00: still waiting.
        "c5": make_conversation(brand, at("2026-03-05T10:00:00")),
        # Saturday 28 February, 23:30 UTC: outside March in UTC, inside it in Paris (1 March, 00:30).
        "before": make_conversation(brand, at("2026-02-28T23:30:00"), expert=alice, rating=1, answers=[(alice, 10)]),
        # Globex's, in March: never counted for Acme.
        "globex": make_conversation(other_brand, at("2026-03-02T09:20:00"), expert=gina, rating=1, answers=[(gina, 5)],
                                    nickname="GlobexGus"),
    }
    manager = django_user_model.objects.create_user("carol-analytics")
    c1 = conversations["c1"]
    dated(Block, at("2026-03-02T10:00:00"), brand=brand, visitor=c1.visitor, conversation=c1, reason="insults",
          created_by=alice, address_hash="a" * 64)
    dated(Block, at("2026-03-10T10:00:00"), brand=brand, visitor=conversations["c2"].visitor, reason="spam",
          created_by_user=manager, lifted_at=at("2026-03-11T10:00:00"))
    dated(Block, at("2026-02-10T10:00:00"), brand=brand, visitor=c1.visitor, reason="old", created_by=alice)
    dated(Block, at("2026-03-10T10:00:00"), brand=other_brand, visitor=conversations["globex"].visitor, reason="globex",
          created_by=gina)
    dated(Alert, at("2026-03-02T10:00:00"), brand=brand, conversation=c1, kind=Alert.Kind.EXPERT, raised_by=alice)
    dated(Alert, at("2026-03-12T10:00:00"), brand=brand, kind=Alert.Kind.FLOOD)
    dated(Alert, at("2026-03-12T10:00:00"), brand=other_brand, kind=Alert.Kind.FLOOD)
    dated(ReportTicket, at("2026-03-03T10:00:00"), brand=brand, conversation=c1, filed_by="visitor",
          visitor=c1.visitor, category=ReportTicket.Category.DISRESPECTFUL, description="rude")
    dated(ReportTicket, at("2026-03-20T10:00:00"), brand=brand, filed_by="expert", filed_by_expert=bob,
          category=ReportTicket.Category.OTHER, description="odd")
    dated(ReportTicket, at("2026-03-20T10:00:00"), brand=other_brand, filed_by="expert", filed_by_expert=gina,
          category=ReportTicket.Category.OTHER, description="=HYPERLINK(\"http://x\")")
    return {"brand": brand, "other_brand": other_brand, "alice": alice, "bob": bob, "gina": gina,
            "sizing": sizing, **conversations}
