"""Moderation rows to the protocol's objects (docs/protocol.md, "Moderation socket")."""

from .models import Alert, Block, ReportTicket


def protocol_time(value):
    """A time as the protocol writes it (ISO 8601, UTC, "Z"); None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def alert_object(alert: Alert) -> dict:
    return {
        "id": str(alert.pk),
        "conversation": str(alert.conversation_id) if alert.conversation_id else None,
        "brand": alert.brand.slug,
        "kind": alert.kind,
        "note": alert.note,
        "raised_by": alert.raised_by.display_name if alert.raised_by_id else "system",
        "status": alert.status,
        "created_at": protocol_time(alert.created_at),
    }


def block_object(block: Block) -> dict:
    return {
        "id": str(block.pk),
        "until": protocol_time(block.expires_at),
        "brand": block.brand.slug,
        "conversation": str(block.conversation_id) if block.conversation_id else None,
        "reason": block.reason,
        "by_address": bool(block.address_hash),
        "created_by": (block.created_by.display_name if block.created_by_id
                       else block.created_by_user.get_username() if block.created_by_user_id else None),
        "created_at": protocol_time(block.created_at),
    }


def report_object(report: ReportTicket) -> dict:
    return {
        "reference": report.reference,
        "category": report.category,
        "brand": report.brand.slug,
        "status": report.status,
        "filed_by": report.filed_by,
        "conversation": str(report.conversation_id) if report.conversation_id else None,
        "created_at": protocol_time(report.created_at),
    }
