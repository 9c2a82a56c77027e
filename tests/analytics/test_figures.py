"""Each analytics figure on fixed data (tests/analytics/conftest.py), worked out by hand.

Run on SQLite (percentiles from two ordered rows) and on PostgreSQL (percentile_cont).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import selectors
from tests.analytics.data import UTC, at

pytestmark = pytest.mark.django_db

MARCH = selectors.Period(start=at("2026-03-01T00:00:00"), end=at("2026-04-01T00:00:00"), tz=UTC)
PARIS = ZoneInfo("Europe/Paris")
MARCH_IN_PARIS = selectors.Period(start=datetime(2026, 3, 1, tzinfo=PARIS), end=datetime(2026, 4, 1, tzinfo=PARIS), tz=PARIS)


def acme(march):
    return selectors.conversations([march["brand"].pk], MARCH)


def test_questions_asked_answered_unanswered(march):
    # c1, c2, c3 have an expert's text; c4 only a warning, c5 nothing: Globex's and February's are not counted.
    assert selectors.questions(acme(march)) == {"asked": 5, "answered": 3, "unanswered": 2, "answered_percent": 60}


def test_first_response_time_p50_and_p90(march):
    # Delays 60, 180, 300 s (c3's first answer is Alice's, at 300 s): p50 the middle one,
    # p90 at rank 0.9 × 2 = 1.8, between 180 and 300: 180 + 0.8 × 120 = 276.
    assert selectors.first_response(acme(march)) == {"answered": 3, "p50_seconds": 180.0, "p90_seconds": 276.0}


def test_first_response_time_of_one_answer_and_of_none(march, brand):
    one = selectors.conversations([brand.pk], selectors.Period(at("2026-03-02T00:00:00"), at("2026-03-02T09:30:00"), UTC))
    assert selectors.first_response(one) == {"answered": 1, "p50_seconds": 60.0, "p90_seconds": 60.0}
    none = selectors.conversations([brand.pk], selectors.Period(at("2026-03-05T00:00:00"), at("2026-03-06T00:00:00"), UTC))
    assert selectors.first_response(none) == {"answered": 0, "p50_seconds": None, "p90_seconds": None}


def test_csat_average_and_distribution(march):
    # Ratings 5, 4, 2: average 3.67, two of three satisfied (4 or 5).
    assert selectors.csat(acme(march)) == {
        "rated": 3, "average": 3.7, "distribution": [(1, 0), (2, 1), (3, 0), (4, 1), (5, 1)], "satisfied_percent": 67,
    }


def test_conversations_per_expert(march):
    # Both answered in c3 (transferred); its rating (2) is Bob's, who held it last.
    assert selectors.per_expert(acme(march)) == [
        {"expert": "Alice", "conversations": 2, "messages": 2, "rated": 1, "average_rating": 5.0},
        {"expert": "Bob", "conversations": 2, "messages": 2, "rated": 2, "average_rating": 3.0},
    ]


def test_conversations_per_topic(march):
    assert selectors.per_topic(acme(march)) == [
        {"topic": "Sizing and fit", "asked": 3, "answered": 2, "unanswered": 1},
        {"topic": None, "asked": 2, "answered": 1, "unanswered": 1},
    ]


def test_busy_hours_by_weekday_and_hour_in_utc(march):
    hours = selectors.busy_hours(acme(march), UTC)
    grid = dict(hours["grid"])
    assert hours["peak"] == 2
    assert grid["Monday"][9] == 2 and grid["Tuesday"][14] == 1 and grid["Wednesday"][23] == 1 and grid["Thursday"][10] == 1
    assert sum(map(sum, grid.values())) == 5


def test_busy_hours_and_the_period_in_the_managers_time_zone(march):
    convs = selectors.conversations([march["brand"].pk], MARCH_IN_PARIS)
    # February's 23:30 UTC is Sunday 1 March 00:30 in Paris: inside the period there.
    assert selectors.questions(convs)["asked"] == 6
    grid = dict(selectors.busy_hours(convs, PARIS)["grid"])
    assert grid["Monday"][10] == 2  # 09:15 and 09:40 UTC
    assert grid["Wednesday"][23] == 0 and grid["Thursday"][0] == 1  # c4, past midnight in Paris
    assert grid["Sunday"][0] == 1


def test_blocks_alerts_and_reports(march):
    figures = selectors.moderation([march["brand"].pk], MARCH)
    assert (figures["blocks"], figures["alerts"], figures["reports"]) == (2, 2, 2)
    rows = {(group, what): n for group, what, n in figures["rows"]}
    assert rows[("Blocks", "by an expert")] == 1 and rows[("Blocks", "by a manager")] == 1
    assert rows[("Blocks", "also by network address")] == 1 and rows[("Blocks", "lifted since")] == 1
    assert rows[("Alerts", "raised by an expert")] == 1 and rows[("Alerts", "flooding")] == 1
    assert rows[("Alerts", "visitor blocked")] == 0
    assert rows[("Reports", "filed by a visitor")] == 1 and rows[("Reports", "filed by an expert")] == 1
    assert rows[("Reports", "disrespectful")] == 1 and rows[("Reports", "other")] == 1


def test_every_brand_adds_globex(march):
    everything = selectors.figures(None, MARCH)
    assert everything["questions"]["asked"] == 6
    assert everything["moderation"]["blocks"] == 3
    assert [row["expert"] for row in everything["experts"]] == ["Alice", "Bob", "=Gina"]


def test_the_figures_take_a_fixed_number_of_queries(march, brand, make_expert):
    """Aggregates, not a query (or a Python pass) per conversation: more data, same statements."""
    with CaptureQueriesContext(connection) as before:
        selectors.figures([brand.pk], MARCH)
    from tests.analytics.data import make_conversation

    carl = make_expert("carl", brands=[brand])
    for minute in range(10):
        make_conversation(brand, at(f"2026-03-06T08:{minute:02d}:00"), expert=carl, rating=3, answers=[(carl, 20)])
    with CaptureQueriesContext(connection) as after:
        result = selectors.figures([brand.pk], MARCH)
    assert result["questions"]["asked"] == 15
    assert len(after.captured_queries) == len(before.captured_queries) <= 12


@pytest.mark.postgres
def test_postgresql_uses_percentile_cont(march):
    with CaptureQueriesContext(connection) as queries:
        selectors.first_response(acme(march))
    assert any("PERCENTILE_CONT(0.9) WITHIN GROUP" in q["sql"] for q in queries.captured_queries)
