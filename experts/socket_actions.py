"""What each expert frame does in the database thread: one call per frame, access checked by the selectors.

The expert socket (experts/consumers.py) parses a frame and hands it here in one
``database_sync_to_async`` call; a chat message goes to the message store instead
(visitors/store.py).
"""

from chatplatform import protocol
from chatplatform.auth import read_user_now
from moderation import services as moderation_services
from moderation.serializers import alert_object, block_object
from visitors import services as visitor_services
from visitors.selectors import messages_after
from visitors.serializers import conversation_object, message_object

from . import selectors, services, topic_routing, transfer


def _open(scope, channel_name):
    """Who opened the socket (one trip to the database thread for the whole of it)."""
    user = read_user_now(scope)
    if not getattr(user, "is_authenticated", False):
        return user, None, [], []
    expert = selectors.expert_for_user(user)
    if expert is None or expert.is_suspended:
        return user, None, [], []
    services.register_connection(expert=expert, channel_name=channel_name)
    return user, expert, selectors.brand_slugs(expert), selectors.assigned_conversation_ids(expert)


def _offered_queue(expert):
    """The queue as this expert is offered it (experts/topic_routing.py), with their topics."""
    topics = topic_routing.topic_slugs(expert)
    offered = topic_routing.offered_queue(selectors.claimable_queue(expert), topics)
    return {
        "queue": [payload for _, payload, _ in offered],
        "previews": selectors.queue_previews([conversation for conversation, _, _ in offered]),
        "offers": {payload["id"]: offer for _, payload, offer in offered},
        "topics": topics,
    }


def _welcome_state(expert):
    conversations = [conversation_object(c) for c in selectors.assigned_conversations(expert)]
    return {
        **_offered_queue(expert),
        "conversations": conversations,
        "transfer_notes": transfer.latest_transfer_notes(expert=expert) if conversations else {},
    }


def welcome_frame(expert, state: dict) -> dict:
    """The expert's `welcome`: presence, the brands' waiting questions, the conversations assigned."""
    return protocol.expert_welcome_frame(
        expert={"id": str(expert.pk), "display_name": expert.display_name}, status=expert.presence,
        queue=state["queue"], queue_previews=state["previews"], queue_offers=state["offers"],
        conversations=state["conversations"], transfer_notes=state["transfer_notes"],
    )


def _queue_state(expert):
    return _offered_queue(expert)


def _claim(expert, conversation_id):
    return conversation_object(services.claim_conversation(expert=expert, conversation_id=conversation_id))


def _release(expert, conversation_id):
    return conversation_object(services.release_conversation(expert=expert, conversation_id=conversation_id))


def _transfer(expert, frame):
    return conversation_object(transfer.transfer_conversation(
        expert=expert, conversation_id=frame.conversation, to_expert_id=frame.expert, note=frame.note,
    ))


def _end(expert, conversation_id):
    return conversation_object(moderation_services.end_by_expert(expert=expert, conversation_id=conversation_id))


def _check_access(expert, conversation_id):
    return str(selectors.access_conversation(expert=expert, conversation_id=conversation_id).id)


def _read(expert, conversation_id, seq):
    conversation = selectors.access_conversation(expert=expert, conversation_id=conversation_id)
    visitor_services.mark_read(conversation_id=conversation.id, reader="expert", seq=seq)


def _sync(expert, conversation_id, after_seq):
    # Past conversations too: an expert may reread what they were assigned.
    conversation = selectors.access_conversation(expert=expert, conversation_id=conversation_id)
    batch = messages_after(conversation_id=conversation.id, after_seq=after_seq)
    has_more = bool(batch) and batch[-1].seq < conversation.last_seq
    return str(conversation.id), [message_object(m) for m in batch], has_more


def _warn(expert, frame):
    moderation_services.warn(expert=expert, conversation_id=frame.conversation, text=frame.text)


def _alert(expert, frame):
    alert = moderation_services.alert_managers(expert=expert, conversation_id=frame.conversation, note=frame.note)
    return alert_object(alert)


def _block(expert, frame):
    block = moderation_services.block_visitor(
        expert=expert, conversation_id=frame.conversation, reason=frame.reason, duration_hours=frame.duration_hours
    )
    return block_object(block)


def _report(expert, frame):
    return moderation_services.file_expert_report(
        expert=expert, conversation_id=frame.conversation, category=frame.category, description=frame.description
    ).reference
