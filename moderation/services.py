"""The moderation ladder and the community managers' actions.

Every action writes a ModerationEvent and sends its events after commit. The
ladder follows the community guide (seeds/): remind politely, end, alert the
community managers, block.
"""

import re
from datetime import timedelta, timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.events import send_event_on_commit
from chatplatform.groups import address_group, expert_group, moderators_group, visitor_group
from chatplatform.worker import enqueue
from experts.models import ExpertProfile
from experts.selectors import access_conversation
from experts.services import back_to_waiting
from visitors import services as visitor_services
from visitors.models import DEFAULT_POLITENESS_REMINDER, Conversation, Message

from . import scoping
from .models import Alert, Block, ModerationEvent, ReportTicket
from .selectors import can_moderate
from .serializers import alert_object, block_object, report_object
from .tasks import email_alert, email_report

BLOCKED_DETAIL = "You can no longer use this chat: an expert blocked you after a conversation."


def record(action: str, *, actor_kind: str, brand=None, conversation=None, expert=None, user=None, **details) -> ModerationEvent:
    """Append one entry to the audit trail."""
    return ModerationEvent.objects.create(
        action=action, actor_kind=actor_kind, brand=brand, conversation=conversation, expert=expert, user=user,
        details={k: v for k, v in details.items() if v is not None},
    )


# --- the expert's ladder ------------------------------------------------------------

@transaction.atomic
def warn(*, expert: ExpertProfile, conversation_id, text: str | None = None) -> Message:
    """Post a politeness warning the visitor sees: the expert's words or the brand's reminder."""
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    if conversation.status != Conversation.Status.ACTIVE:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    words = (text or "").strip() or conversation.brand.politeness_reminder
    # The brand's default reminder is ours to translate; an expert's words or a brand's own reminder are shown as written.
    system = {"code": "moderation.reminder", "params": {}} if words == DEFAULT_POLITENESS_REMINDER else None
    message = visitor_services.post_system_message(conversation_id=conversation.id, text=words, kind=Message.Kind.WARNING,
                                                   system=system)
    record(ModerationEvent.Action.WARN, actor_kind="expert", expert=expert, brand=conversation.brand,
           conversation=conversation, seq=message.seq, text=words)
    return message


@transaction.atomic
def end_by_expert(*, expert: ExpertProfile, conversation_id) -> Conversation:
    """The ladder's second rung: the expert stops the conversation."""
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    conversation = visitor_services.end_conversation(
        conversation_id=conversation.id, ended_by=Conversation.EndedBy.EXPERT, expected_expert=expert
    )
    record(ModerationEvent.Action.END, actor_kind="expert", expert=expert, brand=conversation.brand, conversation=conversation)
    return conversation


def _raise_alert(*, brand, kind: str, note: str, conversation=None, expert=None, visitor=None,
                 dedupe_key: str | None = None) -> Alert | None:
    """Create an alert and tell the managers; with ``dedupe_key``, None if one with that key exists (Alert.dedupe_key)."""
    fields = {"brand": brand, "kind": kind, "note": note, "conversation": conversation, "raised_by": expert, "visitor": visitor}
    if dedupe_key is None:
        alert = Alert.objects.create(**fields)
    else:
        if Alert.objects.filter(dedupe_key=dedupe_key).exists():  # the common case, on the constraint's index
            return None
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction goes on after a lost race
                alert = Alert.objects.create(**fields, dedupe_key=dedupe_key)
        except IntegrityError:  # another process raised it meanwhile
            return None
    alert = Alert.objects.select_related("brand", "raised_by").get(pk=alert.pk)
    send_event_on_commit(moderators_group(), {"type": "alert.created", "alert": alert_object(alert)})
    # Queued in this transaction, sent by the worker: never from a socket's database thread.
    enqueue(email_alert, alert_id=alert.pk)
    return alert


@transaction.atomic
def alert_managers(*, expert: ExpertProfile, conversation_id, note: str) -> Alert:
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    alert = _raise_alert(brand=conversation.brand, kind=Alert.Kind.EXPERT, note=note, conversation=conversation, expert=expert)
    record(ModerationEvent.Action.ALERT, actor_kind="expert", expert=expert, brand=conversation.brand,
           conversation=conversation, alert=alert.pk, note=note)
    return alert


def _block_end(duration_hours: int | None):
    """When a block of ``duration_hours`` ends (None: until lifted); past MAX_BLOCK_HOURS it is refused."""
    if duration_hours is None:
        return None
    most = settings.MAX_BLOCK_HOURS
    refusal = ChatError(
        errors.INVALID_FIELD,
        f"duration_hours must be a whole number of hours from 1 to {most} (MAX_BLOCK_HOURS), or null for until lifted.",
        field="duration_hours",
    )
    if not 1 <= duration_hours <= most:
        raise refusal
    try:
        return timezone.now() + timedelta(hours=duration_hours)
    except OverflowError:  # a MAX_BLOCK_HOURS past the calendar's end
        raise refusal from None


def _send_blocked(block: Block) -> None:
    """After commit, refuse and close every socket the block covers: the visitor's, and their address's."""
    groups = [visitor_group(block.visitor_id)] if block.visitor_id else []
    if block.address_hash:  # everyone else on that address is shut out at once, too
        groups.append(address_group(block.brand.slug, block.address_hash))
    if groups:
        send_event_on_commit(groups, {"type": "visitor.blocked", "detail": BLOCKED_DETAIL, "until": block_object(block)["until"]})


def _place_block(*, brand, visitor, reason: str, expires_at, by_address: bool, conversation=None, expert=None, user=None) -> Block:
    """Write the block and shut the door: what an expert's block and a manager's share.

    By address means the visitor's stored ``address_hash``, hashed at hello by
    visitors.tokens.hash_address (an IPv6 address's CHAT_IPV6_PREFIX network), and
    only where the brand blocks by address.
    """
    block = Block.objects.create(
        brand=brand, visitor=visitor, address_hash=visitor.address_hash if by_address and brand.block_by_address else "",
        conversation=conversation, reason=reason, created_by=expert, created_by_user=user, expires_at=expires_at,
    )
    return Block.objects.select_related("brand", "created_by", "created_by_user").get(pk=block.pk)


def _announce_block(block: Block) -> None:
    """After commit (and after the conversation's own end): close the covered sockets, tell the live feed."""
    _send_blocked(block)
    send_event_on_commit(moderators_group(), {"type": "block.created", "block": block_object(block)})


@transaction.atomic
def block_visitor(*, expert: ExpertProfile, conversation_id, reason: str, duration_hours: int | None) -> Block:
    """Block the conversation's visitor: end it, close their sockets, alert the managers."""
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    expires_at = _block_end(duration_hours)
    brand = conversation.brand
    block = _place_block(brand=brand, visitor=conversation.visitor, reason=reason, expires_at=expires_at, by_address=True,
                         conversation=conversation, expert=expert)
    # A visitor is never routed again to the expert who blocked them.
    conversation.excluded_experts.add(expert)
    if conversation.is_open:
        visitor_services.end_conversation(conversation_id=conversation.id, ended_by=Conversation.EndedBy.MODERATOR)
    _announce_block(block)
    until = f"until {block.expires_at.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC" if block.expires_at else "until lifted"
    alert = _raise_alert(brand=brand, kind=Alert.Kind.BLOCK, note=f"{expert.display_name} blocked a visitor ({until}): {reason}",
                         conversation=conversation, expert=expert)
    record(ModerationEvent.Action.BLOCK, actor_kind="expert", expert=expert, brand=brand, conversation=conversation,
           block=block.pk, alert=alert.pk, reason=reason, duration_hours=duration_hours, by_address=bool(block.address_hash))
    return block


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000 or "\x00" in reason:
        raise ChatError(errors.INVALID_FIELD, "Give a reason for the block (1 to 1000 characters).", field="reason")
    return reason


@transaction.atomic
def block_visitor_as_manager(*, user, visitor, reason: str, duration_hours: int | None, by_address: bool = True,
                             conversation=None, alert: Alert | None = None, report: ReportTicket | None = None) -> Block:
    """A community manager blocks a visitor from the admin, with the effect of an expert's block.

    Their sockets are told and closed (4403), every open conversation of theirs
    ends (by a moderator), the audit trail records it, the live feed gets
    ``block.created``; the alert it came from, if any, is closed. No new alert:
    the manager is the one who would read it.
    """
    if not scoping.may_see_brand(user, visitor.brand_id):
        raise ChatError(errors.NOT_FOUND, "No such visitor.")
    reason = _clean_reason(reason)
    expires_at = _block_end(duration_hours)
    brand = visitor.brand
    if conversation is None:
        conversation = (alert.conversation if alert else None) or (report.conversation if report else None)
    block = _place_block(brand=brand, visitor=visitor, reason=reason, expires_at=expires_at, by_address=by_address,
                         conversation=conversation, user=user)
    still_open = Conversation.objects.filter(visitor=visitor, status__in=[Conversation.Status.WAITING, Conversation.Status.ACTIVE])
    for open_id in still_open.values_list("id", flat=True):
        try:
            visitor_services.end_conversation(conversation_id=open_id, ended_by=Conversation.EndedBy.MODERATOR)
        except ChatError as exc:  # it ended meanwhile: nothing left to end
            if exc.code != errors.ENDED:
                raise
    _announce_block(block)
    record(ModerationEvent.Action.BLOCK, actor_kind="manager", user=user, brand=brand, conversation=conversation,
           block=block.pk, reason=reason, duration_hours=duration_hours, by_address=bool(block.address_hash),
           visitor=str(visitor.pk), alert=alert.pk if alert else None, report=report.reference if report else None)
    if alert is not None:
        close_alert(user=user, alert=alert)
    return block


# --- reports --------------------------------------------------------------------------

@transaction.atomic
def file_report(*, brand, category: str, description: str, visitor=None, expert=None, conversation=None, email: str = "") -> ReportTicket:
    report = ReportTicket.objects.create(
        brand=brand, category=category, description=description, email=email or "", conversation=conversation,
        filed_by="expert" if expert else "visitor", visitor=visitor if not expert else (conversation.visitor if conversation else None),
        filed_by_expert=expert,
    )
    report = ReportTicket.objects.select_related("brand").get(pk=report.pk)
    send_event_on_commit(moderators_group(), {"type": "report.created", "report": report_object(report)})
    enqueue(email_report, report_id=report.pk)
    record(ModerationEvent.Action.REPORT, actor_kind=report.filed_by, expert=expert, brand=brand,
           conversation=conversation, report=report.reference, category=category)
    return report


def file_visitor_report(*, visitor, category: str, description: str, email: str = "", conversation_id=None) -> ReportTicket:
    """A visitor reports a bad experience: during a conversation, after it, or without one."""
    conversation = None
    if conversation_id:
        from visitors.selectors import access_visitor_conversation

        conversation = access_visitor_conversation(visitor=visitor, conversation_id=conversation_id)
    return file_report(brand=visitor.brand, category=category, description=description, visitor=visitor,
                       conversation=conversation, email=email)


def file_expert_report(*, expert: ExpertProfile, conversation_id, category: str, description: str) -> ReportTicket:
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    return file_report(brand=conversation.brand, category=category, description=description, expert=expert, conversation=conversation)


# --- automatic protection ---------------------------------------------------------------

@transaction.atomic
def note_flagged_message(*, message: Message) -> Alert | None:
    """Record a flagged visitor message; at the threshold, raise one automatic alert per conversation."""
    conversation = Conversation.objects.select_related("brand").get(pk=message.conversation_id)
    record(ModerationEvent.Action.FLAG, actor_kind="system", brand=conversation.brand, conversation=conversation, seq=message.seq)
    flagged = Message.objects.filter(conversation=conversation, flagged=True).count()
    if flagged < settings.ABUSE_ALERT_THRESHOLD:
        return None
    return _raise_alert(brand=conversation.brand, kind=Alert.Kind.ABUSE, conversation=conversation,
                        note=f"{flagged} messages from the visitor were flagged as abusive.",
                        dedupe_key=f"abuse:{conversation.pk}")


@transaction.atomic
def note_flooding(*, visitor) -> Alert | None:
    """A visitor hit a flood limit: tell the managers, at most once per visitor per hour (UTC clock hours)."""
    hour = timezone.now().astimezone(dt_timezone.utc).strftime("%Y%m%d%H")
    alert = _raise_alert(brand=visitor.brand, kind=Alert.Kind.FLOOD, dedupe_key=f"flood:{visitor.pk}:{hour}",
                         note="A visitor went over the flood limits and was slowed down.", visitor=visitor)
    if alert is not None:
        record(ModerationEvent.Action.FLOOD, actor_kind="system", brand=visitor.brand, visitor=str(visitor.pk))
    return alert


# --- community managers -------------------------------------------------------------------

def _alert_changed(alert: Alert) -> None:
    alert = Alert.objects.select_related("brand", "raised_by").get(pk=alert.pk)
    send_event_on_commit(moderators_group(), {"type": "alert.updated", "alert": alert_object(alert)})


@transaction.atomic
def acknowledge_alert(*, user, alert_id) -> Alert:
    # Read afresh: the caller's user (a live feed's) holds the rights of its handshake.
    fresh = get_user_model().objects.filter(pk=user.pk).first()
    if fresh is None or not can_moderate(fresh):
        raise ChatError(errors.FORBIDDEN, "You may no longer moderate.")
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    alert = Alert.objects.select_for_update().filter(pk=int(alert_id)).first() if re.fullmatch(r"[0-9]{1,18}", str(alert_id)) else None
    if alert is None or not scoping.may_see_brand(fresh, alert.brand_id):  # another brand's: as if it did not exist
        raise ChatError(errors.NOT_FOUND, "No such alert.")
    if alert.status == Alert.Status.OPEN:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.acknowledged_by = user
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        record(ModerationEvent.Action.ACKNOWLEDGE, actor_kind="manager", user=user, brand=alert.brand,
               conversation=alert.conversation, alert=alert.pk)
        _alert_changed(alert)
    return alert


@transaction.atomic
def close_alert(*, user, alert: Alert) -> Alert:
    if alert.status != Alert.Status.CLOSED:
        alert.status = Alert.Status.CLOSED
        alert.closed_at = timezone.now()
        if not alert.acknowledged_by_id:
            alert.acknowledged_by, alert.acknowledged_at = user, alert.closed_at
        alert.save(update_fields=["status", "closed_at", "acknowledged_by", "acknowledged_at"])
        record(ModerationEvent.Action.CLOSE, actor_kind="manager", user=user, brand=alert.brand, conversation=alert.conversation, alert=alert.pk)
        _alert_changed(alert)
    return alert


@transaction.atomic
def lift_block(*, user, block: Block, reason: str) -> Block:
    if block.lifted_at:
        return block
    block.lifted_at = timezone.now()
    block.lifted_by = user
    block.lift_reason = reason
    block.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    record(ModerationEvent.Action.LIFT, actor_kind="manager", user=user, brand=block.brand, conversation=block.conversation,
           block=block.pk, reason=reason)
    return block


@transaction.atomic
def extend_block(*, user, block: Block, hours: int) -> Block:
    """Lengthen a block by ``hours`` from its current end (or from now, if it already expired)."""
    if block.lifted_at or block.expires_at is None:
        return block
    start = max(block.expires_at, timezone.now())
    block.expires_at = start + timedelta(hours=hours)
    block.save(update_fields=["expires_at"])
    record(ModerationEvent.Action.EXTEND, actor_kind="manager", user=user, brand=block.brand, block=block.pk, hours=hours)
    _send_blocked(block)  # an expired block extended back into force shuts the door again, by address too
    return block


@transaction.atomic
def change_ticket(*, user, report: ReportTicket, status: str | None = None, assignee=False, resolution_note: str | None = None) -> ReportTicket:
    """Move a report through its workflow; an impossible step is refused."""
    changes = {}
    if status and status != report.status:
        if status not in ReportTicket.TRANSITIONS[report.status]:
            raise ChatError(errors.FORBIDDEN, f"A ticket cannot go from {report.get_status_display()} to {ReportTicket.Status(status).label}.")
        changes["status"] = [report.status, status]
        report.status = status
    if assignee is not False and assignee != report.assignee:
        report.assignee = assignee
        changes["assignee"] = assignee.get_username() if assignee else None
    if resolution_note is not None and resolution_note != report.resolution_note:
        report.resolution_note = resolution_note
        changes["resolution_note"] = True
    if changes:
        report.save()
        record(ModerationEvent.Action.TICKET, actor_kind="manager", user=user, brand=report.brand,
               conversation=report.conversation, report=report.reference, **changes)
    return report


@transaction.atomic
def set_suspended(*, user, expert: ExpertProfile, suspended: bool) -> ExpertProfile:
    """Suspend an expert (their sockets close at once) or reinstate them."""
    if expert.is_suspended == suspended:
        return expert
    ExpertProfile.objects.filter(pk=expert.pk).update(is_suspended=suspended)
    expert.is_suspended = suspended
    if suspended:  # their visitors are not left waiting for someone who cannot answer
        active = Conversation.objects.select_for_update(of=("self",)).select_related("brand", "visitor", "expert", "topic")
        for conversation in active.filter(expert=expert, status=Conversation.Status.ACTIVE):
            back_to_waiting(conversation, exclude=False)
    record(ModerationEvent.Action.SUSPEND if suspended else ModerationEvent.Action.REINSTATE, actor_kind="manager",
           user=user, expert=expert)
    if suspended:
        send_event_on_commit(expert_group(expert.pk), {"type": "expert.suspended"})
    return expert
