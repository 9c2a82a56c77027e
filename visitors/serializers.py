"""Model rows to the protocol's objects (chatplatform.protocol), as plain JSON-able dicts."""

from chatplatform.protocol import (
    ConversationObject,
    ExpertObject,
    MessageObject,
    PageObject,
    RatingObject,
    SystemObject,
    VisitorObject,
    dump,
)

from .attachments import attachment_object
from .models import Conversation, Message

VISITOR_DEFAULT_NAME = "Visitor"
SYSTEM_NAME = "Moderation"


def _web_url(url: str) -> str | None:
    """Only http(s) URLs travel: a stored ``javascript:`` or ``data:`` URL never reaches a client's href or src."""
    return url if url.lower().startswith(("https://", "http://")) else None


def expert_object(expert) -> ExpertObject:
    return ExpertObject(
        id=str(expert.pk), display_name=expert.display_name, bio=expert.bio, avatar_url=_web_url(expert.avatar_url or "")
    )


def conversation_object(conversation: Conversation) -> dict:
    """The Conversation object; expects brand, visitor, expert and topic to be loaded."""
    rating = None
    if conversation.rating_score:
        rating = RatingObject(score=conversation.rating_score, comment=conversation.rating_comment)
    return dump(
        ConversationObject(
            id=str(conversation.id),
            brand=conversation.brand.slug,
            status=conversation.status,
            topic=conversation.topic.slug if conversation.topic_id else None,
            expert=expert_object(conversation.expert) if conversation.expert_id else None,
            visitor=VisitorObject(
                id=str(conversation.visitor_id), nickname=conversation.visitor.nickname or None,
                away_since=conversation.visitor.away_since, reachable=bool(conversation.visitor.email),
            ),
            created_at=conversation.created_at,
            ended_at=conversation.ended_at,
            ended_by=conversation.ended_by or None,
            last_seq=conversation.last_seq,
            rating=rating,
            visitor_read_seq=conversation.visitor_read_seq,
            expert_read_seq=conversation.expert_read_seq,
            end_reason=conversation.end_reason or None,
            page=PageObject(path=conversation.page_path, title=conversation.page_title) if conversation.page_path else None,
        )
    )


def message_object(message: Message) -> dict:
    """The Message object; a picture's ``attachment`` (its URLs signed now) only on a message that has one."""
    data = dump(
        MessageObject(
            conversation=str(message.conversation_id),
            seq=message.seq,
            author=message.author,
            author_name=message.author_name,
            kind=message.kind,
            text=message.text,
            client_id=message.client_id,
            created_at=message.created_at,
            flagged=message.flagged,
            system=SystemObject(**message.system) if message.system else None,
        )
    )
    del data["attachment"]  # absent, not null, on the text messages that are nearly all of them (fan-out bytes)
    if message.attachment_id is not None:
        data["attachment"] = attachment_object(message.attachment)
    return data
