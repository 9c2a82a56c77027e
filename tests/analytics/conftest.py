"""Fixed data for the analytics figures: March 2026 at Acme, with rows just outside it and at Globex.

The expected figures are worked out by hand in the tests (tests/analytics/test_figures.py).
"""

import pytest

from experts.models import Topic
from moderation.models import Alert, Block, ReportTicket
from tests.analytics.data import UTC, at, dated, make_conversation  # noqa: F401 (UTC, at: the tests' too)

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
