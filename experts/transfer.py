"""Handing a conversation to a named colleague (``conversation.transfer``, docs/protocol.md).

The new expert gets the conversation (its state, then its history by the usual
catch-up) and the note; the visitor reads "Bob joined the conversation" (a stored
notice); the old expert's sockets hear the new state and stop following it, as
after a hand-back. Each transfer is kept (ConversationTransfer): the audit trail
and the note.
"""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.events import send_event_on_commit
from chatplatform.groups import expert_group
from chatplatform.statements import Param, Statement
from visitors.models import Conversation, Message
from visitors.selectors import conversation_or_not_found
from visitors.serializers import SYSTEM_NAME
from visitors.services import announce_conversation
from visitors.store import append_message

from .models import ConversationTransfer, ExpertProfile
from .selectors import access_conversation, live_since

MAX_NOTE = 1000


def joined_notice(expert: ExpertProfile) -> str:
    return f"{expert.display_name} joined the conversation"


def _online(queryset):
    """Experts who would be offered a question now: chose online, not suspended, a live socket."""
    return queryset.filter(
        presence=ExpertProfile.Presence.ONLINE, is_suspended=False, connections__seen_at__gte=live_since()
    ).distinct()


def _target(expert_id: str) -> ExpertProfile | None:
    if not isinstance(expert_id, str) or not expert_id.isascii() or not expert_id.isdigit() or len(expert_id) > 18:
        return None
    # Locked before the conversation, as a claim locks its expert first: no lock cycle with a claim.
    return ExpertProfile.objects.select_for_update().filter(pk=int(expert_id)).first()


@transaction.atomic
def transfer_conversation(*, expert: ExpertProfile, conversation_id, to_expert_id: str, note: str | None = None) -> Conversation:
    """Hand the expert's active conversation to ``to_expert_id``, an online colleague of its brand with room.

    Errors: `not_found` (no such conversation or colleague of this brand), `forbidden` (not
    the expert's, or the visitor asked not to talk to that colleague again), `ended`,
    `invalid_field` (to oneself), `unavailable` (the colleague is not online), `capacity`.
    """
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ChatError(errors.TOO_LONG, f"Notes are limited to {MAX_NOTE} characters.", field="note")
    target = _target(to_expert_id)
    conversation = conversation_or_not_found(conversation_id, lock=True, brand__experts=expert)
    if conversation.expert_id != expert.pk:
        raise ChatError(errors.FORBIDDEN, "This conversation is not assigned to you.")
    if conversation.status != Conversation.Status.ACTIVE:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    if target is None or not target.brands.filter(pk=conversation.brand_id).exists():
        raise ChatError(errors.NOT_FOUND, "No such expert of this brand.", field="expert")
    if target.pk == expert.pk:
        raise ChatError(errors.INVALID_FIELD, "This conversation is already yours.", field="expert")
    if conversation.excluded_experts.filter(pk=target.pk).exists():
        raise ChatError(errors.FORBIDDEN, f"The visitor asked not to talk to {target.display_name} again.")
    if not _online(ExpertProfile.objects.filter(pk=target.pk)).exists():
        raise ChatError(errors.UNAVAILABLE, f"{target.display_name} is not online.")
    active = Conversation.objects.filter(expert=target, status=Conversation.Status.ACTIVE).count()
    if active >= target.capacity:
        raise ChatError(errors.CAPACITY, f"{target.display_name} has no room for another conversation.")

    now = timezone.now()
    conversation.expert = target
    conversation.claimed_at = now
    conversation.save(update_fields=["expert", "claimed_at"])
    ConversationTransfer.objects.create(conversation=conversation, from_expert=expert, to_expert=target, note=note)
    append_message(
        conversation, author=Message.Author.SYSTEM, text=joined_notice(target), client_id=None,
        author_name=SYSTEM_NAME, kind=Message.Kind.NOTICE,
    )
    # The visitor and the new expert hear the new state; the old expert too, and stops following it.
    announce_conversation(conversation, also_experts=[expert.pk])
    send_event_on_commit(
        expert_group(target.pk),
        {
            "type": "expert.transfer",
            "conversation": str(conversation.id),
            "from_expert": {"id": str(expert.pk), "display_name": expert.display_name},
            "note": note,
        },
    )
    return conversation


def transfer_candidates(*, expert: ExpertProfile, conversation_id) -> list[dict]:
    """The online colleagues the expert may hand this conversation to: name, topics of its brand, room left.

    Those at capacity are listed with ``room`` 0 (the dashboard shows them, greyed); those the
    visitor asked not to talk to again are left out.
    """
    conversation = access_conversation(expert=expert, conversation_id=conversation_id)
    colleagues = (
        _online(ExpertProfile.objects.filter(brands=conversation.brand_id))
        .exclude(pk=expert.pk)
        .exclude(pk__in=conversation.excluded_experts.values("pk"))
        .annotate(active=Count("conversations", filter=Q(conversations__status=Conversation.Status.ACTIVE), distinct=True))
        .order_by("display_name", "pk")
    )
    colleagues = list(colleagues)
    topics: dict = {}
    for expert_id, name in ExpertProfile.topics.through.objects.filter(
        expertprofile_id__in=[c.pk for c in colleagues], topic__brand_id=conversation.brand_id
    ).values_list("expertprofile_id", "topic__name").order_by("topic__name"):
        topics.setdefault(expert_id, []).append(name)
    return [
        {
            "id": str(c.pk),
            "display_name": c.display_name,
            "topics": topics.get(c.pk, []),
            "room": max(c.capacity - c.active, 0),
        }
        for c in colleagues
    ]


# Every expert socket's welcome reads it: built once per database connection (chatplatform/statements.py).
_transfers_of_assigned = Statement(
    lambda: ConversationTransfer.objects.filter(
        conversation__expert_id=Param("expert", ExpertProfile._meta.pk), conversation__status=Conversation.Status.ACTIVE
    ).select_related("from_expert").order_by("conversation_id", "-created_at")
)


def latest_transfer_notes(*, expert: ExpertProfile) -> dict:
    """{conversation id: {from_expert, note}} for the expert's active conversations whose last transfer was to them."""
    notes = {}
    for transfer in _transfers_of_assigned.all(expert=expert.pk):
        key = str(transfer.conversation_id)
        if key in notes or transfer.to_expert_id != expert.pk:
            notes.setdefault(key, None)
            continue
        notes[key] = {
            "from_expert": {"id": str(transfer.from_expert_id), "display_name": transfer.from_expert.display_name}
            if transfer.from_expert else None,
            "note": transfer.note,
        }
    return {key: value for key, value in notes.items() if value is not None}
