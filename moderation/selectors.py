"""Reads for moderation: is someone blocked, what is open."""

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from chatplatform import mfa
from chatplatform.auth import session_store, user_of_session
from chatplatform.statements import Param, Statement
from visitors.models import Brand, Visitor

from .models import Alert, Block, ReportTicket


def _active_block_statement(by_visitor: bool, address_count: int) -> Statement:
    """``active_block``'s read for one shape (by visitor or not, 0 to 2 address hashes), built once."""
    key = (by_visitor, address_count)
    statement = _active_block_statements.get(key)
    if statement is None:
        def build():
            match = Q(visitor_id=Param("visitor", Visitor._meta.pk)) if by_visitor else Q()
            hash_field = Block._meta.get_field("address_hash")
            for i in range(address_count):
                match |= Q(address_hash=Param(f"address{i}", hash_field))
            return (
                Block.objects.active(now=Param("now", Block._meta.get_field("expires_at")))
                .filter(match, brand_id=Param("brand", Brand._meta.pk))
                .order_by("-created_at")[:1]
            )

        statement = _active_block_statements[key] = Statement(build)
    return statement


_active_block_statements: dict[tuple, Statement] = {}


def active_block(*, brand, visitor=None, address_hash: str = "", address_hashes=()) -> Block | None:
    """The block that keeps this visitor (or this address, where the brand blocks by address) out.

    ``address_hashes`` are the address's hashes under the current and the previous
    keys (visitors.tokens.address_hashes), so blocks placed before a key rotation still hold.
    Every visitor handshake asks: the read is a statement built once per shape.
    """
    hashes = list(dict.fromkeys(h for h in (address_hash, *address_hashes) if h)) if brand.block_by_address else []
    if visitor is None and not hashes:
        return None
    values = {f"address{i}": h for i, h in enumerate(hashes)}
    if visitor is not None:
        values["visitor"] = visitor.pk
    return _active_block_statement(visitor is not None, len(hashes)).first(brand=brand.pk, now=timezone.now(), **values)


def no_active_block_sql(*, brand, visitor, address_hashes=()) -> tuple[str, list]:
    """``active_block(...) is None`` as one SQL condition, for a statement that must not run for a blocked visitor.

    The message hot path (visitors.services) puts it in the UPDATE that allocates
    the seq, so the block check costs no statement of its own; when the UPDATE
    then matches nothing, the ORM path runs ``active_block`` for the exact answer.
    Same rule as ``active_block``: this visitor, or, where the brand blocks by
    address, any of the address's hashes; not lifted and not expired.
    """
    match, params = "b.visitor_id = %s", [visitor.pk]
    hashes = [h for h in address_hashes if h]
    if hashes and brand.block_by_address:
        match, params = "(b.visitor_id = %s OR b.address_hash = ANY(%s))", [visitor.pk, hashes]
    sql = (
        f"NOT EXISTS (SELECT 1 FROM {Block._meta.db_table} b WHERE b.brand_id = %s AND b.lifted_at IS NULL"
        f" AND (b.expires_at IS NULL OR b.expires_at > %s) AND {match})"
    )
    return sql, [brand.pk, timezone.now(), *params]


def _in_brands(queryset, brand_ids):
    """``queryset`` limited to ``brand_ids`` (None: every brand; see moderation.scoping)."""
    return queryset if brand_ids is None else queryset.filter(brand_id__in=brand_ids)


def open_alerts(limit: int = 100, brand_ids=None) -> list[Alert]:
    alerts = _in_brands(Alert.objects.exclude(status=Alert.Status.CLOSED), brand_ids)
    return list(alerts.select_related("brand", "raised_by").order_by("-created_at")[:limit])


def open_tickets(brand_ids=None):
    return _in_brands(ReportTicket.objects.filter(status__in=[ReportTicket.Status.OPEN, ReportTicket.Status.IN_REVIEW]), brand_ids)


def open_report_count(brand_ids=None) -> int:
    return open_tickets(brand_ids).count()


def active_block_count(brand_ids=None) -> int:
    return _in_brands(Block.objects.active(), brand_ids).count()


def counts(brand_ids=None) -> dict:
    """The console's three numbers, counted in the database (never the length of a capped list)."""
    return {
        "open_alerts": _in_brands(Alert.objects.exclude(status=Alert.Status.CLOSED), brand_ids).count(),
        "open_reports": open_report_count(brand_ids),
        "active_blocks": active_block_count(brand_ids),
    }


def can_moderate(user) -> bool:
    """An active staff user holding ``moderation.moderate`` (the Community managers group, or a superuser)."""
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active and user.is_staff
        and user.has_perm("moderation.moderate")
    )


def feed_refusal(user, session) -> str | None:
    """Why ``user`` may not open the live feed with ``session``: "forbidden", "two_factor", or None when they may.

    "two_factor": a manager's session that has not passed two-factor sign-in
    (chatplatform/mfa.py); it must sign in again, with its code.
    """
    if not can_moderate(user):
        return "forbidden"
    return None if mfa.session_passes(session, user) else "two_factor"


def feed_still_allowed(*, session_key, user_id) -> str | None:
    """None if a live feed opened by ``user_id`` with this session may stay open; else "signed_out" or "forbidden".

    Read afresh (the session, the user, their groups and permissions, its two-factor device):
    the feed's own user object holds what was true at its handshake. A session whose
    two-factor device was removed counts as signed out.
    """
    session = session_store(session_key) if session_key else None
    user = user_of_session(session) if session is not None else None
    if user is None or not user.is_authenticated or user.pk != user_id:
        return "signed_out"
    refusal = feed_refusal(user, session)
    return {"two_factor": "signed_out"}.get(refusal, refusal)


def per_day(rows_of, days: int = 30) -> list[tuple]:
    """(date, count) of ``rows_of`` (a queryset) for each of the last ``days`` days, oldest first, zeros included."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows = (
        rows_of.filter(created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def overview(brand_ids=None) -> dict:
    """What the moderation overview page shows: the newest rows of each list, and their true counts."""
    now = timezone.now()
    open_tickets_ = open_tickets(brand_ids)
    ages = [
        ("under a day", open_tickets_.filter(created_at__gte=now - timedelta(days=1)).count()),
        ("1 to 7 days", open_tickets_.filter(created_at__lt=now - timedelta(days=1), created_at__gte=now - timedelta(days=7)).count()),
        ("over 7 days", open_tickets_.filter(created_at__lt=now - timedelta(days=7)).count()),
    ]
    return {
        "alerts": open_alerts(50, brand_ids),
        "tickets": list(open_tickets_.select_related("brand").order_by("-created_at")[:50]),
        "ticket_ages": ages,
        "blocks": list(_in_brands(Block.objects.active(now), brand_ids).select_related("brand", "created_by").order_by("-created_at")[:50]),
        "counts": counts(brand_ids),
        "blocks_per_day": per_day(_in_brands(Block.objects.all(), brand_ids)),
        "reports_per_day": per_day(_in_brands(ReportTicket.objects.all(), brand_ids)),
    }
