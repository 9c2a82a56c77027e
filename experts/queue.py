"""The brands' queues: waiting questions offered to the brand's online experts, and taken back.

Only the experts' sockets that are online are in a brand's queue group
(experts/queue_watch.py); the messaging core (visitors) says when a question
starts waiting, leaves the queue unclaimed, or its visitor comes and goes
(visitors/signals.py), and the receivers here tell the queue, after commit.
Claiming, releasing and `next_expert` (experts/services.py) call the same functions.
"""

from django.utils import timezone

from chatplatform.events import send_event_on_commit
from chatplatform.groups import queue_group
from visitors import signals
from visitors.models import Conversation, Message
from visitors.serializers import conversation_object

PREVIEW_LENGTH = 280


def offer_to_queue(conversation: Conversation, *, payload: dict | None = None) -> None:
    """Offer a waiting conversation to the brand's online experts (minus the excluded).

    ``wave`` "topic": only to the experts of its topic for now (experts/topic_routing.py decides who shows it).
    """
    first = conversation.messages.filter(author=Message.Author.VISITOR).order_by("seq").values_list("text", flat=True).first()
    excluded = [str(pk) for pk in conversation.excluded_experts.values_list("pk", flat=True)]
    send_event_on_commit(
        queue_group(conversation.brand.slug),
        {
            "type": "queue.added",
            "conversation": payload or conversation_object(conversation),
            "preview": (first or "")[:PREVIEW_LENGTH],
            "excluded": excluded,
            "wave": "topic" if conversation.topic_offer_until and conversation.topic_offer_until > timezone.now() else "brand",
        },
        supersedes=f"queue.{conversation.id}",
    )


def withdraw_from_queue(conversation: Conversation) -> None:
    """The conversation no longer waits (claimed, or ended unclaimed): out of every queue."""
    send_event_on_commit(
        queue_group(conversation.brand.slug), {"type": "queue.removed", "conversation": str(conversation.id)},
        supersedes=f"queue.{conversation.id}",
    )


def announce_in_queue(brand_slug: str, conversation: dict) -> None:
    """A waiting question's entry in the experts' queues shows whether its visitor is here (queue.updated)."""
    # Coalesced per conversation (chatplatform/events.py): a visitor flapping sends the brand's
    # online experts at most one update a CHAT_COALESCE_SECONDS, the last state always.
    send_event_on_commit(queue_group(brand_slug), {"type": "queue.updated", "conversation": conversation},
                         coalesce=f"queue.{conversation['id']}")


def _on_waiting(sender, *, conversation, payload, **kwargs):
    offer_to_queue(conversation, payload=payload)


def _on_withdrawn(sender, *, conversation, **kwargs):
    withdraw_from_queue(conversation)


def _on_visitor_changed(sender, *, brand_slug, payload, **kwargs):
    announce_in_queue(brand_slug, payload)


def connect_receivers() -> None:
    """Route the messaging core's questions to the experts' queues (from ExpertsConfig.ready)."""
    signals.question_waiting.connect(_on_waiting, dispatch_uid="experts.queue.offer")
    signals.question_withdrawn.connect(_on_withdrawn, dispatch_uid="experts.queue.withdraw")
    signals.waiting_visitor_changed.connect(_on_visitor_changed, dispatch_uid="experts.queue.announce")
