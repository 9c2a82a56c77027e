"""Who may upload a picture to a conversation, who may see one, and a manager's removal.

The pictures themselves are visitors.Attachment (visitors/attachments.py: the
cleaning, the storage, the signed URLs); this app sits above visitors, experts
and moderation because an upload is checked against all three: the visitor's
token, origin and blocks, the expert's assignment, the flood limits.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction

from chatplatform import errors
from chatplatform.addresses import address_hashes, hash_address
from chatplatform.errors import ChatError
from chatplatform.origins import normalise_origin
from experts import selectors as expert_selectors
from moderation import flood, scoping
from moderation.blocks import BlockPolicy
from moderation.models import ModerationEvent
from moderation.selectors import can_moderate
from moderation.services import record
from visitors import attachments as pictures
from visitors import selectors as visitor_selectors
from visitors.models import Attachment, Conversation, Message

_NOT_YOURS = "This conversation is not yours to send pictures to."


def _conversation(conversation_id) -> Conversation:
    """The conversation named by the upload; one that does not exist is as foreign as another's."""
    try:
        return visitor_selectors.conversation_or_not_found(conversation_id)
    except ChatError:
        raise ChatError(errors.FORBIDDEN, _NOT_YOURS) from None


def _open(conversation: Conversation) -> None:
    if not conversation.is_open:
        raise ChatError(errors.ENDED, "This conversation has ended.")


def _origin_allowed(origin: str | None, own_origin: str, brand) -> bool:
    """The widget's own page (our origin) or one of the brand's listed origins, as the visitor socket allows."""
    normalised = normalise_origin(origin or "")
    if normalised is None:
        return False
    allowed = {o for o in (normalise_origin(line) for line in brand.origin_list) if o}
    return normalised == normalise_origin(own_origin) or normalised in allowed


def _visitor_target(*, conversation_id, token: str, origin: str | None, own_origin: str, address: str | None):
    conversation = _conversation(conversation_id)
    brand = conversation.brand
    if not _origin_allowed(origin, own_origin, brand):
        raise ChatError(errors.FORBIDDEN, "Pictures are sent from the brand's pages only.")
    visitor = visitor_selectors.find_visitor(brand=brand, token=token)
    if visitor is None or visitor.pk != conversation.visitor_id:
        raise ChatError(errors.FORBIDDEN, _NOT_YOURS)
    if BlockPolicy(brand, visitor, address_hashes(address)).refusal() is not None:
        raise ChatError(errors.FORBIDDEN, "You cannot send pictures here at the moment.")
    _open(conversation)
    return conversation, visitor


def _expert_target(*, user, conversation_id):
    expert = expert_selectors.expert_for_user(user)
    if expert is None or expert.is_suspended:
        raise ChatError(errors.FORBIDDEN, "Only community experts send pictures.")
    try:
        conversation = expert_selectors.access_conversation(expert=expert, conversation_id=conversation_id)
    except ChatError:
        raise ChatError(errors.FORBIDDEN, _NOT_YOURS) from None
    _open(conversation)
    return conversation, expert


async def _clean_and_store(*, conversation, uploaded_by: str, expert=None, data_reader, declared_type: str) -> Attachment:
    # Decoding and encoding take up to seconds of CPU (Pillow releases the GIL meanwhile): on a thread of
    # their own, not on the one thread Django runs every synchronous view and database call of HTTP on.
    clean = await sync_to_async(lambda: pictures.clean_upload(data_reader(), declared_type), thread_sensitive=False)()
    return await sync_to_async(pictures.store_attachment)(
        conversation=conversation, uploaded_by=uploaded_by, expert=expert, clean=clean,
    )


async def upload_as_visitor(*, conversation_id, token: str, origin: str | None, own_origin: str, address: str | None,
                            data_reader, declared_type: str) -> Attachment:
    """The visitor holding ``token`` uploads a picture to their open conversation.

    ``data_reader()`` gives the bytes: read only once every check passed.
    `forbidden`: another's conversation, a wrong token or origin, a block. `rate_limited`: the upload limits.
    """
    conversation, visitor = await sync_to_async(_visitor_target)(
        conversation_id=conversation_id, token=token, origin=origin, own_origin=own_origin, address=address,
    )
    await flood.check("upload", visitor_id=visitor.pk, address_hash=hash_address(address))
    return await _clean_and_store(conversation=conversation, uploaded_by=Attachment.Uploader.VISITOR,
                                  data_reader=data_reader, declared_type=declared_type)


async def upload_as_expert(*, user, conversation_id, data_reader, declared_type: str) -> Attachment:
    """The signed-in expert uploads a picture to a conversation assigned to them."""
    conversation, expert = await sync_to_async(_expert_target)(user=user, conversation_id=conversation_id)
    await flood.check("upload", user_id=user.pk)
    return await _clean_and_store(conversation=conversation, uploaded_by=Attachment.Uploader.EXPERT, expert=expert,
                                  data_reader=data_reader, declared_type=declared_type)


def may_view(*, user, attachment: Attachment) -> bool:
    """Without a signed URL: the conversation's expert (now, or one who wrote in it) or a manager of its brand."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    conversation = attachment.conversation
    if can_moderate(user) and scoping.may_see_brand(user, conversation.brand_id):
        return True
    expert = expert_selectors.expert_for_user(user)
    if expert is None or expert.is_suspended:
        return False
    return conversation.expert_id == expert.pk or Message.objects.filter(conversation=conversation, expert=expert).exists()


@transaction.atomic
def remove_attachment(*, user, attachment: Attachment, reason: str = "") -> None:
    """A manager removes a picture: the files go, its message stays without it; audited as a ModerationEvent."""
    conversation = attachment.conversation
    message = Message.objects.filter(attachment=attachment).first()
    record(
        ModerationEvent.Action.REMOVE, actor_kind="manager", user=user, brand=conversation.brand, conversation=conversation,
        attachment=str(attachment.pk), message_seq=message.seq if message else None, reason=reason[:500],
    )
    pictures.delete_attachments(Attachment.objects.filter(pk=attachment.pk))
