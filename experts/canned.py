"""Canned replies as data: each brand's set (seeded from the community charter) and each expert's own.

Managers edit a brand's replies in the admin (moderation/admin.py, scoped to their
brands); an expert creates, edits and deletes their own from the dashboard's
"My replies" page (experts/views.py). The dashboard lists both in its picker
(typing "/" in the message box) and fills ``{visitor}`` and ``{expert}`` when a
reply is inserted.
"""

import re

from django.db import transaction

from chatplatform import errors
from chatplatform.errors import ChatError
from visitors.models import DEFAULT_POLITENESS_REMINDER, Brand

from .models import CannedReply, ExpertProfile

PLACEHOLDERS = ("visitor", "expert")
# The most replies of their own an expert keeps (the picker stays short, the table small).
MAX_OWN_REPLIES = 100
MAX_TITLE = CannedReply._meta.get_field("title").max_length
MAX_TEXT = 2000

# A brand's set when it is created (and for every existing brand by the data migration seed_canned_replies,
# which keeps its own copy): the charter's words (/seeds 000 and 003), politeness reminder first.
CHARTER_REPLIES = [
    ("Politeness reminder", DEFAULT_POLITENESS_REMINDER),
    ("Sorry another expert was not helpful",
     "I'm sorry another expert was not helpful, {visitor}. I will try my best to offer you the best experience "
     "possible. Is there anything that can best help me help you today?"),
    ("I will not do that",
     "I'm sorry that happened. I will not do that. Is there anything else I can do to help you feel at ease here?"),
    ("Would you like to talk about it?",
     "Would you like to talk about what happened? If you'd rather not, that's fine too: tell me what brought you here today."),
    ("Keep searching for the right one",
     "Sometimes people just don't click with each other, and it's totally fine to keep searching for the right one! "
     "You can ask to talk to another expert at any time."),
    ("Hello",
     "Hello {visitor}! I'm {expert}, a member of the community, happy to help. Could you tell me a bit more?"),
    ("I don't know for sure",
     "I don't know the answer for sure, and I'd rather say so than guess. Here is what I would check first:"),
]

_FIELD = re.compile(r"\{([^{}]*)\}")


def check_placeholders(text: str) -> None:
    """Refuse a reply whose braces name anything but ``{visitor}`` and ``{expert}`` (a typo would show as is)."""
    unknown = sorted({name for name in _FIELD.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        raise ChatError(
            errors.INVALID_FIELD, f"Unknown placeholder {{{unknown[0][:40]}}}: use {{visitor}} or {{expert}}.", field="text"
        )


def fill(text: str, *, visitor: str, expert: str) -> str:
    """The reply as it is inserted: placeholders replaced by the visitor's and the expert's names."""
    values = {"visitor": visitor, "expert": expert}
    return _FIELD.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def seed_brand_replies(brand: Brand) -> int:
    """Give a brand the charter's replies, if it has none yet; return how many were created.

    Its politeness reminder is the brand's own (what "warn" posts), the charter's by default.
    """
    if CannedReply.objects.filter(brand=brand).exists():
        return 0
    replies = [("Politeness reminder", brand.politeness_reminder or DEFAULT_POLITENESS_REMINDER), *CHARTER_REPLIES[1:]]
    CannedReply.objects.bulk_create(
        CannedReply(brand=brand, title=title, text=text, position=i) for i, (title, text) in enumerate(replies)
    )
    return len(replies)


# --- reads -------------------------------------------------------------------------------


def reply_object(reply: CannedReply) -> dict:
    return {
        "id": reply.pk,
        "title": reply.title,
        "text": reply.text,
        # The brand's slug for a brand's reply (shown only in that brand's conversations); null for the expert's own.
        "brand": reply.brand.slug if reply.brand_id else None,
        "own": reply.expert_id is not None,
    }


def replies_for(expert: ExpertProfile) -> list[dict]:
    """The replies the expert's picker offers: their own first, then their brands' sets."""
    own = CannedReply.objects.filter(expert=expert).order_by("title", "pk")
    brands = CannedReply.objects.filter(brand__experts=expert).select_related("brand").order_by("brand__name", "position", "pk")
    return [reply_object(r) for r in own] + [reply_object(r) for r in brands.distinct()]


def own_replies(expert: ExpertProfile) -> list[CannedReply]:
    return list(CannedReply.objects.filter(expert=expert).order_by("title", "pk"))


def access_own_reply(*, expert: ExpertProfile, reply_id) -> CannedReply:
    """One of the expert's own replies, or `not_found` (a brand's or a colleague's does not exist for them)."""
    reply = CannedReply.objects.filter(pk=reply_id, expert=expert).first() if str(reply_id).isdigit() else None
    if reply is None:
        raise ChatError(errors.NOT_FOUND, "No such reply of yours.")
    return reply


# --- writes ------------------------------------------------------------------------------


def _clean(title: str, text: str) -> tuple[str, str]:
    title, text = title.strip(), text.strip()
    if "\x00" in title or "\x00" in text:
        raise ChatError(errors.INVALID_FIELD, "NUL characters are not allowed.", field="text")
    if not title:
        raise ChatError(errors.INVALID_FIELD, "A title is required.", field="title")
    if not text:
        raise ChatError(errors.INVALID_FIELD, "The reply's text is required.", field="text")
    if len(title) > MAX_TITLE:
        raise ChatError(errors.TOO_LONG, f"Titles are limited to {MAX_TITLE} characters.", field="title")
    if len(text) > MAX_TEXT:
        raise ChatError(errors.TOO_LONG, f"Replies are limited to {MAX_TEXT} characters.", field="text")
    check_placeholders(text)
    return title, text


@transaction.atomic
def create_own_reply(*, expert: ExpertProfile, title: str, text: str) -> CannedReply:
    title, text = _clean(title, text)
    ExpertProfile.objects.select_for_update().filter(pk=expert.pk).values_list("pk", flat=True).first()
    if CannedReply.objects.filter(expert=expert).count() >= MAX_OWN_REPLIES:
        raise ChatError(errors.CAPACITY, f"You can keep {MAX_OWN_REPLIES} replies of your own: delete one first.")
    return CannedReply.objects.create(expert=expert, title=title, text=text)


@transaction.atomic
def update_own_reply(*, expert: ExpertProfile, reply_id, title: str, text: str) -> CannedReply:
    reply = access_own_reply(expert=expert, reply_id=reply_id)
    reply.title, reply.text = _clean(title, text)
    reply.save(update_fields=["title", "text", "updated_at"])
    return reply


def delete_own_reply(*, expert: ExpertProfile, reply_id) -> None:
    access_own_reply(expert=expert, reply_id=reply_id).delete()
