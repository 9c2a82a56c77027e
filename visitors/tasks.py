"""The visitors' sweeps: scheduled work of `manage.py chat_worker` (CHAT_WORKER_SWEEPS, chatplatform/worker.py).

Each sweep reads its candidates, then ends each one in a transaction of its
own with the condition checked again under the conversation's row lock, so a
message or a claim that arrives meanwhile wins.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from chatplatform.i18n import english_system
from chatplatform.worker import enqueue, task

from . import followups
from .models import Brand, Conversation, Message, Visitor
from .services import end_by_system, mark_vanished_away, vanished_since

# Ended per sweep at most: the rest wait for the next run, a minute later.
BATCH = 500
# A visitor away for less than this is reloading the page, not gone.
AWAY_GRACE = timedelta(minutes=1)


def mark_vanished_visitors_away() -> int:
    """Mark away the visitors whose sockets' process died: none refreshed them for three heartbeats (visitors/presence.py).

    Away as of when they were last seen, so the inactivity sweep and the queue count from then.
    """
    vanished = Visitor.objects.filter(away_since__isnull=True, last_seen__lt=vanished_since()).values_list("pk", flat=True)
    return sum(mark_vanished_away(visitor_id=pk) for pk in vanished[:BATCH])


def inactive_system(minutes: int) -> dict:
    """The sweep's notice as a code and parameters: each reader gets it in their language (chatplatform/i18n.py)."""
    return {"code": "conversation.inactive", "params": {"minutes": minutes}}


def unanswered_system(days: int) -> dict:
    return {"code": "conversation.unanswered", "params": {"days": days}}


def inactive_notice(minutes: int) -> str:
    return english_system(**inactive_system(minutes))


def unanswered_notice(days: int) -> str:
    return english_system(**unanswered_system(days))


def end_inactive_conversations(now=None) -> int:
    """End the claimed conversations with no message for the brand's ``idle_minutes`` while the visitor is away.

    The expert's place is free again (capacity counts active conversations);
    both sides' sockets get the ended conversation and the notice.
    """
    now = now or timezone.now()
    ended = 0
    for minutes in Brand.objects.values_list("idle_minutes", flat=True).distinct():
        cutoff = now - timedelta(minutes=minutes)
        recent = Message.objects.filter(conversation=OuterRef("pk"), created_at__gte=cutoff)
        idle = (
            Conversation.objects.filter(
                status=Conversation.Status.ACTIVE, brand__idle_minutes=minutes, claimed_at__lt=cutoff,
                visitor__away_since__lt=now - AWAY_GRACE,
            )
            .exclude(Exists(recent))
            .values_list("pk", "last_seq")[:BATCH]
        )
        for pk, last_seq in idle:

            def still(conversation, last_seq=last_seq):
                # No message since the read, still active, and the visitor did not come back.
                return (conversation.status == Conversation.Status.ACTIVE and conversation.last_seq == last_seq
                        and conversation.visitor.away_since is not None)

            if end_by_system(conversation_id=pk, reason=Conversation.EndReason.INACTIVE,
                             notice=inactive_notice(minutes), system=inactive_system(minutes), still=still):
                ended += 1
    return ended


def close_unanswered_questions(now=None) -> int:
    """Close the waiting questions nobody claimed within the brand's ``waiting_days``.

    Until then a question stays in the queue and claimable, its visitor there or
    not. A visitor who gave an address gets one "closed, ask again" e-mail
    (queued in the transaction that closes it).
    """
    now = now or timezone.now()
    closed = 0
    for days in Brand.objects.values_list("waiting_days", flat=True).distinct():
        cutoff = now - timedelta(days=days)
        old = Conversation.objects.filter(
            status=Conversation.Status.WAITING, brand__waiting_days=days, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:BATCH]
        for pk in old:
            with transaction.atomic():
                ended = end_by_system(conversation_id=pk, reason=Conversation.EndReason.UNANSWERED,
                                      notice=unanswered_notice(days), system=unanswered_system(days), still=lambda c: c.status == Conversation.Status.WAITING)
                if ended is not None and ended.visitor.email:
                    enqueue(email_unanswered, conversation_id=str(pk))
            if ended is not None:
                closed += 1
    return closed


# --- e-mail to visitors (visitors/followups.py) ---------------------------------------------

@task()
def email_followup(*, conversation_id: str, queued_at: str) -> bool:
    return followups.send_followup(conversation_id=conversation_id, queued_at=queued_at)


@task()
def email_transcript(*, conversation_id: str) -> bool:
    return followups.send_transcript(conversation_id=conversation_id)


@task()
def email_unanswered(*, conversation_id: str) -> bool:
    return followups.send_unanswered(conversation_id=conversation_id)
