"""Personal data: retention, and a visitor's export and erasure.

Personal data here is what visitors wrote or what identifies them: message
texts, nicknames (also kept as messages' author names), rating comments, report
descriptions and e-mails, the pages questions were asked from (path and title),
visitors' contact e-mails, and keyed address hashes, and the pictures sent in
conversations (files and rows, visitors/attachments.py). This module sits at the top
layer because it spans the messaging core and the moderation records.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from chatplatform.events import send_event_on_commit
from chatplatform.groups import visitor_group
from visitors import services as visitor_services
from visitors.attachments import delete_attachments
from visitors.models import OPEN_STATUSES, Attachment, Conversation, Message, ResumeLink, Visitor
from visitors.serializers import VISITOR_DEFAULT_NAME, conversation_object, message_object
from visitors.tokens import hash_token, new_token

from .models import Block, ReportTicket

PURGED = "[removed]"


def held_conversations():
    """Conversations kept as evidence: under an open report an expert filed, or cited by a block that still holds.

    The lawful-interest exception (docs/security.md): neither erasure nor the
    retention purge blanks them until the report is resolved or dismissed and
    the block lifted or expired; the next purge then does.
    """
    under_report = ReportTicket.objects.filter(
        filed_by="expert", status__in=(ReportTicket.Status.OPEN, ReportTicket.Status.IN_REVIEW), conversation__isnull=False
    ).values("conversation_id")
    under_block = Block.objects.active().filter(conversation__isnull=False).values("conversation_id")
    return Conversation.objects.filter(Q(pk__in=under_report) | Q(pk__in=under_block)).values("pk")


def _purge_conversations(conversations) -> int:
    """Blank what was written in ``conversations`` and what their visitors are known by; return how many messages changed."""
    messages = Message.objects.filter(conversation__in=conversations).exclude(text=PURGED)
    count = messages.update(text=PURGED)
    delete_attachments(Attachment.objects.filter(conversation__in=conversations))  # every picture, either side's
    Message.objects.filter(conversation__in=conversations, author=Message.Author.VISITOR).update(author_name=VISITOR_DEFAULT_NAME)
    Conversation.objects.filter(pk__in=conversations).exclude(rating_comment="").update(rating_comment="")
    _forget_pages(conversations)
    ReportTicket.objects.filter(conversation__in=conversations).exclude(email="", description=PURGED).update(
        email="", description=PURGED
    )
    return count


def _erase_visitor_parts(conversations) -> int:
    """Blank only what the visitors of ``conversations`` wrote (their lines, names, ratings); return how many messages changed."""
    mine = Message.objects.filter(conversation__in=conversations, author=Message.Author.VISITOR)
    count = mine.exclude(text=PURGED).update(text=PURGED)
    # The visitor's pictures (a photo may show them, their home); the expert's stay, as their lines do.
    delete_attachments(Attachment.objects.filter(conversation__in=conversations, uploaded_by=Attachment.Uploader.VISITOR))
    mine.exclude(author_name=VISITOR_DEFAULT_NAME).update(author_name=VISITOR_DEFAULT_NAME)
    Conversation.objects.filter(pk__in=conversations).exclude(rating_comment="").update(rating_comment="")
    _forget_pages(conversations)
    return count


def _forget_pages(conversations) -> None:
    """The page a question was asked from goes with its texts: an order page's title or path may name the visitor."""
    Conversation.objects.filter(pk__in=conversations).exclude(page_path="", page_title="").update(page_path="", page_title="")


def _abandoned_conversations(cutoff):
    """Open conversations nobody wrote in since ``cutoff`` (last message, or creation when there is none)."""
    latest = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq").values("created_at")[:1]
    return (
        Conversation.objects.filter(status__in=OPEN_STATUSES)
        .annotate(last_activity=Coalesce(Subquery(latest), "created_at"))
        .filter(last_activity__lt=cutoff)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def purge_personal_data(*, days: int, now=None) -> dict:
    """Purge the personal data of conversations that ended, or were left open untouched, more than ``days`` ago.

    An open conversation with no message since the cutoff is ended first (by
    the system, as abandoned: both sides hear of it) and purged with the rest.
    Conversations under an open expert report or a holding block are kept
    until it is resolved (``held_conversations``). Visitors who asked for
    erasure lose what that kept once it no longer holds. Visitors with nothing
    open and not seen since lose their nickname and address hash; blocks that
    no longer hold lose their address hash (an active block keeps it, or it
    would stop holding). Return what was purged, counted.
    """
    cutoff = (now or timezone.now()) - timedelta(days=days)
    held = held_conversations()
    abandoned = list(_abandoned_conversations(cutoff).exclude(pk__in=held))
    for pk in abandoned:
        visitor_services.end_conversation(conversation_id=pk, ended_by=Conversation.EndedBy.SYSTEM)
    old = Conversation.objects.filter(
        Q(status=Conversation.Status.ENDED, ended_at__lt=cutoff) | Q(pk__in=abandoned)
    ).exclude(pk__in=held).values("pk")
    messages = _purge_conversations(old)
    erased = Conversation.objects.filter(visitor__erased_at__isnull=False, status=Conversation.Status.ENDED).exclude(pk__in=held)
    messages += _erase_visitor_parts(erased.values("pk"))
    open_visitors = Conversation.objects.filter(status__in=OPEN_STATUSES).values("visitor_id")
    stale = Visitor.objects.filter(last_seen__lt=cutoff).exclude(pk__in=open_visitors)
    visitors = stale.exclude(nickname="", address_hash="", email="").update(
        nickname="", address_hash="", email="", email_consented_at=None)
    # Reports about no conversation: the e-mail goes; a visitor's own words go once the ticket is closed.
    loose = ReportTicket.objects.filter(conversation__isnull=True, created_at__lt=cutoff)
    reports = loose.exclude(email="").update(email="")
    reports += loose.filter(filed_by="visitor", status__in=(ReportTicket.Status.RESOLVED, ReportTicket.Status.DISMISSED)).exclude(
        description=PURGED).update(description=PURGED)
    blocks = Block.objects.filter(created_at__lt=cutoff).exclude(address_hash="").filter(
        Q(lifted_at__isnull=False) | Q(expires_at__lte=timezone.now())
    ).update(address_hash="")
    # Uploads never sent in a message: nobody saw them; they go after CHAT_ATTACHMENT_UNSENT_HOURS.
    unsent_before = timezone.now() - timedelta(hours=settings.CHAT_ATTACHMENT_UNSENT_HOURS)
    pictures = delete_attachments(Attachment.objects.filter(created_at__lt=unsent_before, message__isnull=True))
    return {"messages": messages, "abandoned": len(abandoned), "visitors": visitors, "reports": reports, "blocks": blocks,
            "unsent_pictures": pictures}


def export_visitor_data(*, visitor: Visitor) -> dict:
    """Everything stored about this visitor, as plain JSON-able values."""
    visitor = Visitor.objects.select_related("brand").get(pk=visitor.pk)  # as stored now (another tab may have changed it)
    conversations = (
        Conversation.objects.filter(visitor=visitor).select_related("brand", "visitor", "expert", "topic").order_by("created_at")
    )
    return {
        "visitor": {"id": str(visitor.id), "brand": visitor.brand.slug, "nickname": visitor.nickname or None,
                    "first_seen": visitor.first_seen.isoformat(), "last_seen": visitor.last_seen.isoformat(),
                    "email": visitor.email or None,
                    "email_consented_at": visitor.email_consented_at.isoformat() if visitor.email_consented_at else None},
        "conversations": [
            {**conversation_object(c), "messages": [message_object(m) for m in c.messages.order_by("seq")]}
            for c in conversations
        ],
        "reports": [
            {"reference": r.reference, "category": r.category, "description": r.description, "email": r.email or None,
             "conversation": str(r.conversation_id) if r.conversation_id else None, "created_at": r.created_at.isoformat()}
            for r in ReportTicket.objects.filter(visitor=visitor).order_by("created_at")
        ],
    }


@transaction.atomic
def erase_visitor_data(*, visitor: Visitor) -> None:
    """Erase the visitor's personal data and close every socket of theirs.

    Their open conversation ends; the token stops working (a new random hash
    replaces it). What they wrote and are known by goes (their lines, nickname,
    ratings, their own reports' text and e-mail, contact e-mail, address hash); what others
    wrote stays (the expert's lines, reports experts filed about them). A
    conversation under an open expert report or a holding block keeps the
    visitor's lines until that is resolved; the retention purge erases them
    then (``erased_at``). Blocks keep holding on the visitor row, so erasure is
    not a way around a block.
    """
    for conversation in Conversation.objects.filter(visitor=visitor, status__in=OPEN_STATUSES):
        visitor_services.end_conversation(conversation_id=conversation.pk, ended_by=Conversation.EndedBy.VISITOR)
    _erase_visitor_parts(Conversation.objects.filter(visitor=visitor).exclude(pk__in=held_conversations()).values("pk"))
    ReportTicket.objects.filter(visitor=visitor, filed_by="visitor").update(email="", description=PURGED)
    Visitor.objects.filter(pk=visitor.pk).update(
        nickname="", address_hash="", email="", email_consented_at=None, token_hash=hash_token(new_token()),
        erased_at=timezone.now(),
    )
    ResumeLink.objects.filter(visitor=visitor).delete()  # an e-mailed link no longer reopens anything
    send_event_on_commit(visitor_group(visitor.pk), {"type": "visitor.erased"})
