"""The analytics figures of some brands over a period, each read by aggregate queries.

Definitions (docs/moderation.md, "Analytics", says them for managers):

- The period is [start, end) in the manager's time zone and applies to a conversation's
  start (``Conversation.created_at``); blocks, alerts and reports count by their own creation.
- Asked: conversations started in the period. Answered: those where an expert wrote at
  least one text message (a politeness warning is not an answer). Unanswered: the rest.
- First response time: from the visitor's first message to the first expert text message,
  over the answered conversations; p50 and p90 by linear interpolation between the closest
  ranks (PostgreSQL's ``percentile_cont``; elsewhere the same formula from two ordered rows).
- CSAT: the ratings (1-5) visitors gave those conversations: average, distribution, and the
  share of 4 and 5.
- Per expert: the conversations each expert wrote in (a transferred conversation counts for
  every expert who answered in it), and the ratings of those they held last.

No figure loops over rows in Python: each is one aggregate query (grouped at most by
expert, topic, weekday and hour, or kind); Python only lays out those few groups.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.db import connection
from django.db.models import (
    Aggregate, Avg, Count, DurationField, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, Subquery,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from moderation.models import Alert, Block, ReportTicket
from visitors.models import Conversation, Message

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SCORES = [1, 2, 3, 4, 5]


@dataclass(frozen=True)
class Period:
    """[start, end) as aware datetimes, and the time zone the busy hours are counted in."""

    start: datetime
    end: datetime
    tz: tzinfo


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``; nulls are left out."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        super().__init__(expression, fraction=repr(fraction), **extra)


def conversations(brand_ids, period: Period):
    """The conversations of ``brand_ids`` (None: every brand) started within ``period``."""
    queryset = Conversation.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    return queryset if brand_ids is None else queryset.filter(brand_id__in=brand_ids)


def _expert_answers():
    return Message.objects.filter(conversation=OuterRef("pk"), author=Message.Author.EXPERT, kind=Message.Kind.TEXT)


def _answered():
    return Exists(_expert_answers())


def questions(convs) -> dict:
    """Asked, answered, unanswered, and the answered share in percent (None when nothing was asked)."""
    totals = convs.aggregate(asked=Count("pk"), answered=Count("pk", filter=Q(_answered())))
    totals["unanswered"] = totals["asked"] - totals["answered"]
    totals["answered_percent"] = round(100 * totals["answered"] / totals["asked"]) if totals["asked"] else None
    return totals


def _with_first_response(convs):
    """``convs`` answered, each with ``delay``: first expert text message minus first visitor message."""
    first_visitor = Message.objects.filter(conversation=OuterRef("pk"), author=Message.Author.VISITOR).order_by("seq")
    first_expert = _expert_answers().order_by("seq")
    return convs.filter(_answered()).annotate(
        first_visitor_at=Subquery(first_visitor.values("created_at")[:1]),
        first_expert_at=Subquery(first_expert.values("created_at")[:1]),
    ).filter(first_visitor_at__isnull=False).annotate(
        delay=ExpressionWrapper(F("first_expert_at") - F("first_visitor_at"), output_field=DurationField()),
    )


def _seconds(value) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _percentiles_ordered(rows, fractions) -> tuple[int, dict]:
    """The fallback where the database has no percentile_cont (SQLite): percentile_cont's formula.

    For n values in order, the fraction f sits at rank f·(n-1); the value is interpolated between
    the two ranks around it, each read by one ORDER BY … LIMIT 1 OFFSET query.
    """
    count = rows.count()
    found = {}
    for fraction in fractions:
        if not count:
            found[fraction] = None
            continue
        rank = fraction * (count - 1)
        low = int(rank)
        ordered = rows.order_by("delay").values_list("delay", flat=True)
        pair = list(ordered[low:low + 2])
        below = _seconds(pair[0])
        above = _seconds(pair[1]) if len(pair) > 1 else below
        found[fraction] = below + (above - below) * (rank - low)
    return count, found


def first_response(convs) -> dict:
    """p50 and p90 of the first response time in seconds (None when nothing was answered), and how many."""
    rows = _with_first_response(convs)
    if connection.vendor == "postgresql":
        result = rows.aggregate(
            answered=Count("pk"),
            p50=PercentileCont(F("delay"), 0.5, output_field=DurationField()),
            p90=PercentileCont(F("delay"), 0.9, output_field=DurationField()),
        )
        p50, p90, answered = _seconds(result["p50"]), _seconds(result["p90"]), result["answered"]
    else:
        answered, found = _percentiles_ordered(rows, (0.5, 0.9))
        p50, p90 = found[0.5], found[0.9]
    return {"answered": answered, "p50_seconds": None if p50 is None else round(p50, 1),
            "p90_seconds": None if p90 is None else round(p90, 1)}


def csat(convs) -> dict:
    """Ratings of ``convs``: how many were rated, the average (1 decimal), each score's count, the share of 4-5."""
    result = convs.aggregate(
        rated=Count("pk", filter=Q(rating_score__isnull=False)),
        average=Avg("rating_score", output_field=FloatField()),
        **{f"score_{score}": Count("pk", filter=Q(rating_score=score)) for score in SCORES},
    )
    rated = result["rated"]
    return {
        "rated": rated,
        "average": None if result["average"] is None else round(result["average"], 1),
        "distribution": [(score, result[f"score_{score}"]) for score in SCORES],
        "satisfied_percent": round(100 * (result["score_4"] + result["score_5"]) / rated) if rated else None,
    }


def per_expert(convs) -> list[dict]:
    """Each expert who answered in ``convs``: conversations answered, messages written, ratings of those they held."""
    answers = (
        Message.objects.filter(conversation__in=convs.values("pk"), author=Message.Author.EXPERT,
                               kind=Message.Kind.TEXT, expert__isnull=False)
        .values("expert_id", "expert__display_name")
        .annotate(conversations=Count("conversation", distinct=True), messages=Count("pk"))
        .order_by("-conversations", "expert__display_name")
    )
    ratings = {
        row["expert_id"]: row for row in convs.filter(expert__isnull=False, rating_score__isnull=False)
        .values("expert_id").annotate(rated=Count("pk"), average=Avg("rating_score", output_field=FloatField()))
        .order_by()
    }
    return [
        {"expert": row["expert__display_name"], "conversations": row["conversations"], "messages": row["messages"],
         "rated": ratings.get(row["expert_id"], {}).get("rated", 0),
         "average_rating": round(ratings[row["expert_id"]]["average"], 1) if row["expert_id"] in ratings else None}
        for row in answers
    ]


def per_topic(convs) -> list[dict]:
    """Each topic asked about in ``convs`` (None: no topic chosen) with asked, answered, unanswered."""
    rows = (
        convs.values("topic__name")
        .annotate(asked=Count("pk"), answered=Count("pk", filter=Q(_answered())))
        .order_by("-asked", "topic__name")
    )
    return [{"topic": row["topic__name"], "asked": row["asked"], "answered": row["answered"],
             "unanswered": row["asked"] - row["answered"]} for row in rows]


def busy_hours(convs, tz) -> dict:
    """Conversations started per weekday (Monday first) and hour (0-23) in ``tz``: a 7×24 grid and its peak."""
    counts = (
        convs.annotate(weekday=ExtractIsoWeekDay("created_at", tzinfo=tz), hour=ExtractHour("created_at", tzinfo=tz))
        .values("weekday", "hour").annotate(n=Count("pk")).order_by()
    )
    grid = [[0] * 24 for _ in WEEKDAYS]
    for row in counts:  # at most 168 groups, not conversations
        grid[row["weekday"] - 1][row["hour"]] = row["n"]
    return {"grid": [(WEEKDAYS[i], hours) for i, hours in enumerate(grid)], "peak": max(max(h) for h in grid)}


def _in(queryset, brand_ids, period: Period):
    queryset = queryset.filter(created_at__gte=period.start, created_at__lt=period.end)
    return queryset if brand_ids is None else queryset.filter(brand_id__in=brand_ids)


def moderation(brand_ids, period: Period) -> dict:
    """Blocks, alerts and report tickets created in the period: totals and their kinds, three queries."""
    blocks = _in(Block.objects.all(), brand_ids, period).aggregate(
        total=Count("pk"),
        by_expert=Count("pk", filter=Q(created_by__isnull=False)),
        by_manager=Count("pk", filter=Q(created_by_user__isnull=False)),
        by_address=Count("pk", filter=~Q(address_hash="")),
        lifted=Count("pk", filter=Q(lifted_at__isnull=False)),
    )
    alerts = _in(Alert.objects.all(), brand_ids, period).aggregate(
        total=Count("pk"), **{kind: Count("pk", filter=Q(kind=kind)) for kind in Alert.Kind.values},
    )
    reports = _in(ReportTicket.objects.all(), brand_ids, period).aggregate(
        total=Count("pk"),
        by_visitor=Count("pk", filter=Q(filed_by="visitor")),
        by_expert=Count("pk", filter=Q(filed_by="expert")),
        **{category: Count("pk", filter=Q(category=category)) for category in ReportTicket.Category.values},
    )
    rows = [
        ("Blocks", "total", blocks["total"]),
        ("Blocks", "by an expert", blocks["by_expert"]),
        ("Blocks", "by a manager", blocks["by_manager"]),
        ("Blocks", "also by network address", blocks["by_address"]),
        ("Blocks", "lifted since", blocks["lifted"]),
        ("Alerts", "total", alerts["total"]),
        *[("Alerts", label.lower(), alerts[kind]) for kind, label in Alert.Kind.choices],
        ("Reports", "total", reports["total"]),
        ("Reports", "filed by a visitor", reports["by_visitor"]),
        ("Reports", "filed by an expert", reports["by_expert"]),
        *[("Reports", category, reports[category]) for category in ReportTicket.Category.values],
    ]
    return {"blocks": blocks["total"], "alerts": alerts["total"], "reports": reports["total"], "rows": rows}


def figures(brand_ids, period: Period) -> dict:
    """Every figure of the page for ``brand_ids`` (None: every brand) and ``period``."""
    convs = conversations(brand_ids, period)
    return {
        "questions": questions(convs),
        "first_response": first_response(convs),
        "csat": csat(convs),
        "experts": per_expert(convs),
        "topics": per_topic(convs),
        "hours": busy_hours(convs, period.tz),
        "moderation": moderation(brand_ids, period),
    }
