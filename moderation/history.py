"""The audit trail in words: each ModerationEvent as the sentence a manager reads.

"Alice blocked the visitor for 24 h: repeated insults" instead of the JSON it is stored as.
"""

from .models import ModerationEvent

A = ModerationEvent.Action


def duration(hours) -> str:
    """24 → "24 h", 168 → "7 days", None → "until lifted"."""
    if hours is None:
        return "until lifted"
    hours = int(hours)
    if hours >= 48 and hours % 24 == 0:
        return f"for {hours // 24} days"
    return f"for {hours} h"


def actor(event: ModerationEvent) -> str:
    if event.actor_kind == "expert":
        return event.expert.display_name if event.expert_id else "An expert (removed)"
    if event.actor_kind == "manager":
        if event.user_id:
            return event.user.get_full_name() or event.user.get_username()
        return "A manager (removed)"
    return "The visitor" if event.actor_kind == "visitor" else "The system"


def _with_reason(sentence: str, reason) -> str:
    return f"{sentence}: {reason}" if reason else sentence


def describe(event: ModerationEvent) -> str:
    """The event as one sentence."""
    d = event.details or {}
    who = actor(event)
    action = event.action
    if action == A.WARN:
        return f"{who} warned the visitor: \u201c{d.get('text', '')}\u201d"
    if action == A.END:
        return f"{who} ended the conversation"
    if action == A.ALERT:
        return _with_reason(f"{who} alerted the community managers", d.get("note"))
    if action == A.BLOCK:
        how = " and their address" if d.get("by_address") else ""
        return _with_reason(f"{who} blocked the visitor{how} {duration(d.get('duration_hours'))}", d.get("reason"))
    if action == A.REPORT:
        return f"{who} filed report {d.get('report', '')} ({d.get('category', '')})"
    if action == A.FLAG:
        return f"The abuse filter flagged message #{d.get('seq', '?')}"
    if action == A.FLOOD:
        return "The visitor went over a flood limit and was slowed down"
    if action == A.REMOVE:
        where = f" from message #{d['message_seq']}" if d.get("message_seq") else " (never sent)"
        return _with_reason(f"{who} removed a picture{where}", d.get("reason"))
    if action == A.LIFT:
        return _with_reason(f"{who} lifted block #{d.get('block', '?')}", d.get("reason"))
    if action == A.EXTEND:
        return f"{who} extended block #{d.get('block', '?')} {duration(d.get('hours'))}"
    if action == A.ACKNOWLEDGE:
        return f"{who} acknowledged alert #{d.get('alert', '?')}"
    if action == A.CLOSE:
        return f"{who} closed alert #{d.get('alert', '?')}"
    if action == A.TICKET:
        changes = []
        if "status" in d:
            before, after = d["status"]
            changes.append(f"status {_status(before)} \u2192 {_status(after)}")
        if "assignee" in d:
            changes.append(f"assigned to {d['assignee']}" if d["assignee"] else "unassigned")
        if d.get("resolution_note"):
            changes.append("resolution note edited")
        return f"{who} changed ticket {d.get('report', '')}: " + "; ".join(changes)
    if action in (A.SUSPEND, A.REINSTATE):
        target = event.expert.display_name if event.expert_id else "an expert"
        return f"{who} {'suspended' if action == A.SUSPEND else 'reinstated'} {target}"
    return f"{who}: {event.get_action_display()}"


def _status(value) -> str:
    from .models import ReportTicket

    try:
        return ReportTicket.Status(value).label.lower()
    except ValueError:
        return str(value)
