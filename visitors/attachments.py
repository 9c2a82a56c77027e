"""Pictures in conversations: stored re-encoded, linked to one message, served by signed URL.

An upload (attachments/views.py) becomes an ``Attachment`` here: the bytes are
cleaned by chatplatform/images.py, the picture and its thumbnail saved in the
``attachments`` storage under random names, the row written. A ``message.send``
naming it takes it (``take_for_message``, under the conversation's lock, in the
message's transaction): once, in its own conversation, by its uploader.

A ``message`` frame carries the picture's URLs signed with an expiry
(``signed_urls``): the visitor's widget shows them in an ``<img>``, which sends
no token, so the URL itself is the proof, for CHAT_ATTACHMENT_URL_SECONDS. Each
history read (welcome, sync, export) signs anew. Signed-in experts and managers
may also open the bare URL with their session (attachments/views.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.images import CONTENT_TYPES, CleanImage, clean_image

from .models import Attachment, Conversation, Message, attachment_storage

VARIANTS = ("full", "thumbnail")


# --- signed URLs -----------------------------------------------------------------------------

def _signature(attachment_id, variant: str, expires: int) -> str:
    key = ("chat-attachment-url:" + settings.SECRET_KEY).encode()
    return hmac.new(key, f"{attachment_id}:{variant}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_url(attachment_id, variant: str, *, now: float | None = None) -> str:
    """The URL of one variant of a picture, valid CHAT_ATTACHMENT_URL_SECONDS from now."""
    expires = int((now or time.time()) + settings.CHAT_ATTACHMENT_URL_SECONDS)
    name = "attachment-thumbnail" if variant == "thumbnail" else "attachment-file"
    return f"{reverse(name, args=[attachment_id])}?expires={expires}&signature={_signature(attachment_id, variant, expires)}"


def signature_valid(attachment_id, variant: str, expires: str | None, signature: str | None, *, now: float | None = None) -> bool:
    """Whether ``expires``/``signature`` (the URL's query) sign this variant of this picture and have not expired."""
    if not expires or not signature or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < (now or time.time()):
        return False
    return hmac.compare_digest(signature, _signature(attachment_id, variant, int(expires)))


def attachment_object(attachment: Attachment) -> dict:
    """The ``attachment`` of a Message object (docs/protocol.md), its URLs signed now."""
    return {
        "url": signed_url(attachment.pk, "full"),
        "thumbnail_url": signed_url(attachment.pk, "thumbnail"),
        "width": attachment.width,
        "height": attachment.height,
        "content_type": attachment.content_type,
    }


def upload_answer(attachment: Attachment) -> dict:
    """What POST /attachments/ answers: the id to send in ``message.send``, and the picture as it will be shown."""
    return {"id": str(attachment.pk), **attachment_object(attachment), "size": attachment.size}


# --- upload ---------------------------------------------------------------------------------

def clean_upload(data: bytes, declared_type: str) -> CleanImage:
    """The picture re-encoded (chatplatform/images.py), or `too_large` / `unsupported_type`. No database: any thread."""
    if len(data) > settings.CHAT_ATTACHMENT_MAX_BYTES:
        raise ChatError(errors.TOO_LARGE, f"Pictures are limited to {settings.CHAT_ATTACHMENT_MAX_BYTES:,} bytes.")
    return clean_image(data, declared_type=declared_type, max_pixels=settings.CHAT_ATTACHMENT_MAX_PIXELS,
                       thumbnail_size=settings.CHAT_ATTACHMENT_THUMBNAIL_PIXELS)


def create_attachment(*, conversation: Conversation, uploaded_by: str, expert=None, data: bytes,
                      declared_type: str) -> Attachment:
    """Clean the picture and keep it for ``conversation``; `unsupported_type` / `too_large` leave nothing behind."""
    return store_attachment(conversation=conversation, uploaded_by=uploaded_by, expert=expert,
                            clean=clean_upload(data, declared_type))


def store_attachment(*, conversation: Conversation, uploaded_by: str, expert=None, clean: CleanImage) -> Attachment:
    """Keep a cleaned picture and its thumbnail for ``conversation``: the files, then the row (the files go if it fails)."""
    storage = attachment_storage()
    pk = uuid.uuid4()
    # Random names in one directory per conversation: nothing in a name says who or what.
    stem = f"{conversation.pk.hex}/{secrets.token_hex(16)}"
    from django.core.files.base import ContentFile

    saved = []
    try:
        saved.append(storage.save(f"{stem}.{clean.extension}", ContentFile(clean.data)))
        saved.append(storage.save(f"{stem}-thumb.{clean.thumbnail_extension}", ContentFile(clean.thumbnail)))
        return Attachment.objects.create(
            pk=pk, conversation=conversation, uploaded_by=uploaded_by, expert=expert, file=saved[0], thumbnail=saved[1],
            content_type=clean.content_type, width=clean.width, height=clean.height, size=len(clean.data),
        )
    except BaseException:
        for name in saved:
            storage.delete(name)
        raise


# --- a message takes it ----------------------------------------------------------------------

def parse_attachment_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ChatError(errors.NOT_FOUND, "No such attachment.", field="attachment") from None


def take_for_message(*, attachment_id, conversation_id, uploaded_by: str, expert_id=None) -> Attachment:
    """The upload a new message may carry, or `not_found` / `invalid_field`.

    Call under the conversation's lock (the message's transaction): the unique
    ``Message.attachment`` makes a second use fail anyway, but this answers it clearly.
    Another conversation's or another uploader's picture does not exist for the sender.
    """
    pk = parse_attachment_id(attachment_id)
    attachment = Attachment.objects.filter(pk=pk, conversation_id=conversation_id, uploaded_by=uploaded_by).first()
    if attachment is None or (uploaded_by == Attachment.Uploader.EXPERT and attachment.expert_id != expert_id):
        raise ChatError(errors.NOT_FOUND, "No such attachment.", field="attachment")
    if Message.objects.filter(attachment=attachment).exists():
        raise ChatError(errors.INVALID_FIELD, "This attachment was already sent.", field="attachment")
    return attachment


# --- reading and removing --------------------------------------------------------------------

def open_variant(attachment: Attachment, variant: str):
    """(open file, content type) of the picture or its thumbnail; FileNotFoundError if the file is gone."""
    field = attachment.thumbnail if variant == "thumbnail" else attachment.file
    extension = field.name.rsplit(".", 1)[-1]
    return attachment_storage().open(field.name, "rb"), CONTENT_TYPES.get(extension, "application/octet-stream")


def delete_attachments(queryset) -> int:
    """Delete these pictures: rows now (their messages keep their text, without the picture), files after commit."""
    rows = list(queryset.values_list("pk", "file", "thumbnail"))
    if not rows:
        return 0
    Attachment.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    names = [name for _, file, thumb in rows for name in (file, thumb) if name]

    def remove_files():
        storage = attachment_storage()
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove_files)
    return len(rows)
