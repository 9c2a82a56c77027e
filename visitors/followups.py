"""Visitors' e-mail: the contact address, follow-ups of unread answers, transcripts, and the links they carry.

Nothing here runs on the message path: the follow-up sweep (CHAT_WORKER_SWEEPS) finds
the answers a visitor who left has not read, and queues one task per conversation; the
tasks send through ``send_mail_once`` (chatplatform/worker.py). docs/security.md says
who sees the address, what a link can do, and how unsubscribing works.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.i18n import supported
from chatplatform.worker import enqueue

from .models import Conversation, MailOptOut, Message, ResumeLink, Visitor
from .services import _announce_presence_to_queue
from .tokens import address_key, hash_token, new_token

RESUME_SALT = "visitors.resume-link"
UNSUBSCRIBE_SALT = "visitors.unsubscribe"
# Conversations queued per sweep at most: the rest wait for the next run.
BATCH = 500


# --- the contact address ---------------------------------------------------------------

def email_hash(email: str) -> str:
    """Keyed hash (HMAC-SHA256) of a lowercased address: what an opt-out keeps."""
    return hmac.new(address_key(), b"email:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def opted_out(email: str) -> bool:
    return MailOptOut.objects.filter(address_hash=email_hash(email)).exists()


@transaction.atomic
def set_contact(*, visitor: Visitor, email: str | None) -> str | None:
    """Store (or, with None, remove) the visitor's contact address, with the time of consent; return it.

    An address that unsubscribed is refused: nothing more is sent to it.
    """
    if email and opted_out(email):
        raise ChatError(errors.INVALID_FIELD, "This address unsubscribed from our e-mails; it gets none.", field="email")
    changed = (email or "") != visitor.email
    visitor.email = email or ""
    visitor.email_consented_at = timezone.now() if email else None
    # The widget's language when the address was given (the consumer sets it): the e-mails are written in it.
    Visitor.objects.filter(pk=visitor.pk).update(email=visitor.email, email_consented_at=visitor.email_consented_at,
                                                 language=visitor.language or "")
    if changed:  # the queue's "reachable by e-mail" mark of a waiting question
        _announce_presence_to_queue(visitor.pk)
    return email or None


def reachable_address(visitor: Visitor) -> str | None:
    """The address to write to, or None (none given, or it unsubscribed)."""
    if not visitor.email or opted_out(visitor.email):
        return None
    return visitor.email


# --- links -------------------------------------------------------------------------------

def _absolute(path: str) -> str:
    return settings.CHAT_PUBLIC_URL + path


def resume_link(*, conversation: Conversation) -> str:
    """A new link that reopens ``conversation`` in the widget, once, for CHAT_FOLLOWUP_LINK_DAYS."""
    link = ResumeLink.objects.create(nonce=secrets.token_hex(16), visitor_id=conversation.visitor_id, conversation=conversation)
    signed = signing.dumps({"n": link.nonce}, salt=RESUME_SALT, compress=True)
    return _absolute(reverse("resume", args=[signed]))


class LinkRefused(Exception):
    """A resume link that cannot be used: ``reason`` is expired, used or invalid; ``brand`` when known."""

    def __init__(self, reason: str, brand=None):
        super().__init__(reason)
        self.reason = reason
        self.brand = brand


def _link_row(signed: str) -> ResumeLink:
    try:
        payload = signing.loads(signed, salt=RESUME_SALT, max_age=timedelta(days=settings.CHAT_FOLLOWUP_LINK_DAYS))
    except signing.SignatureExpired:
        payload = signing.loads(signed, salt=RESUME_SALT)
        link = ResumeLink.objects.select_related("conversation__brand").filter(nonce=payload.get("n")).first()
        raise LinkRefused("expired", link.conversation.brand if link else None) from None
    except (signing.BadSignature, ValueError):
        raise LinkRefused("invalid") from None
    link = (
        ResumeLink.objects.select_related("conversation__brand", "visitor").filter(nonce=payload.get("n")).first()
        if isinstance(payload, dict) else None
    )
    if link is None:
        raise LinkRefused("invalid")
    brand = link.conversation.brand
    if link.used_at is not None:
        raise LinkRefused("used", brand)
    if link.visitor.erased_at is not None or not brand.is_active:
        raise LinkRefused("invalid", brand if brand.is_active else None)
    return link


def check_resume_link(signed: str) -> ResumeLink:
    """The link's row if it may still be used (nothing changes), else LinkRefused."""
    return _link_row(signed)


@transaction.atomic
def use_resume_link(signed: str) -> tuple[ResumeLink, str]:
    """Use the link: mark it used and give its visitor a fresh token; return the row and that token.

    The token is minted here because the server keeps only its hash: the browser
    that opens the link becomes the visitor's, and an older token stops working.
    """
    link = _link_row(signed)
    if not ResumeLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise LinkRefused("used", link.conversation.brand)  # opened twice at once: the other one won
    token = new_token()
    Visitor.objects.filter(pk=link.visitor_id).update(token_hash=hash_token(token))
    return link, token


def unsubscribe_url(email: str) -> str:
    signed = signing.dumps({"h": email_hash(email)}, salt=UNSUBSCRIBE_SALT, compress=True)
    return _absolute(reverse("unsubscribe", args=[signed]))


def check_unsubscribe(signed: str) -> str:
    """The address hash an unsubscribe link names, or LinkRefused("invalid"). It does not expire (RFC 8058)."""
    try:
        payload = signing.loads(signed, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError):
        raise LinkRefused("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("h"), str):
        raise LinkRefused("invalid")
    return payload["h"]


@transaction.atomic
def unsubscribe(signed: str) -> None:
    """No visitor e-mail goes to this address again (any brand); the same link twice changes nothing."""
    MailOptOut.objects.get_or_create(address_hash=check_unsubscribe(signed))


# --- e-mails ------------------------------------------------------------------------------

def _send(*, key: str, address: str, subject: str, template: str, context: dict) -> bool:
    from chatplatform.worker import send_mail_once

    unsubscribe = unsubscribe_url(address)
    context = {**context, "unsubscribe_url": unsubscribe}
    return send_mail_once(
        key=key, subject=subject, recipients=[address],
        body=render_to_string(f"visitors/email/{template}.txt", context),
        html=render_to_string(f"visitors/email/{template}.html", context),
        # RFC 8058: a mail client's one-click unsubscribe POSTs to this URL.
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _mail_language(conversation: Conversation) -> str:
    """A visitor's e-mails are in the widget's language when they gave the address, else the brand's default."""
    brand = conversation.brand
    return supported(conversation.visitor.language, brand.language_list) or brand.default_language


def _conversation(conversation_id):
    return Conversation.objects.select_related("brand", "visitor", "expert").filter(pk=conversation_id).first()


def unread_answers(conversation: Conversation) -> list[Message]:
    return list(
        conversation.messages.filter(author=Message.Author.EXPERT, seq__gt=conversation.visitor_read_seq).order_by("seq")
    )


def send_followup(*, conversation_id, queued_at: str) -> bool:
    """The e-mail of the answers the visitor has not read; nothing if they came back, read them, or cannot be reached.

    Its once-only key is the conversation and the time the sweep queued it (``followup_queued_at``), which
    moves at most once per CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS: a rerun or a duplicate task sends nothing more.
    """
    conversation = _conversation(conversation_id)
    if conversation is None or conversation.visitor.away_since is None:
        return False
    address = reachable_address(conversation.visitor)
    answers = unread_answers(conversation)
    if address is None or not answers:
        return False
    expert = answers[-1].author_name
    brand = conversation.brand
    with translation.override(_mail_language(conversation)):
        return _send(
            key=f"visitors.followup:{conversation.pk}:{queued_at}", address=address,
            subject=_("%(expert)s answered your question on %(brand)s") % {"expert": expert, "brand": brand.name},
            template="followup",
            context={"brand": brand, "expert": expert, "answers": answers, "link": resume_link(conversation=conversation),
                     "days": settings.CHAT_FOLLOWUP_LINK_DAYS},
        )


def _send_about(conversation_id, *, kind: str, subject: str, context) -> bool:
    """Send one e-mail ``kind`` about a conversation to its visitor's address, once; False if there is nobody to send to.

    ``subject`` and ``context`` are functions of the conversation, called only when it is sent.
    """
    conversation = _conversation(conversation_id)
    address = reachable_address(conversation.visitor) if conversation is not None else None
    if address is None:
        return False
    with translation.override(_mail_language(conversation)):
        return _send(
            key=f"visitors.{kind}:{conversation.pk}", address=address, subject=subject(conversation), template=kind,
            context=context(conversation),
        )


def send_transcript(*, conversation_id) -> bool:
    return _send_about(
        conversation_id, kind="transcript",
        subject=lambda conversation: _("Your conversation on %(brand)s") % {"brand": conversation.brand.name},
        context=lambda conversation: {"brand": conversation.brand, "messages": list(conversation.messages.order_by("seq"))},
    )


def send_unanswered(*, conversation_id) -> bool:
    return _send_about(
        conversation_id, kind="unanswered",
        subject=lambda conversation: _("No expert was free on %(brand)s") % {"brand": conversation.brand.name},
        context=lambda conversation: {
            "brand": conversation.brand, "days": conversation.brand.waiting_days,
            "question": conversation.messages.filter(seq=1).values_list("text", flat=True).first() or "",
            "link": resume_link(conversation=conversation),
        },
    )


def request_transcript(*, visitor: Visitor) -> str:
    """Queue the transcript of the visitor's last ended conversation to their address; return its id."""
    conversation = (
        Conversation.objects.filter(visitor=visitor, status=Conversation.Status.ENDED).order_by("-ended_at").only("pk").first()
    )
    if conversation is None:
        raise ChatError(errors.NO_CONVERSATION, "There is no ended conversation to send.")
    if reachable_address(visitor) is None:
        raise ChatError(errors.INVALID_FIELD, "Give an e-mail address first (contact.set).", field="email")
    from .tasks import email_transcript

    enqueue(email_transcript, conversation_id=str(conversation.pk))
    return str(conversation.pk)


# --- the sweep ---------------------------------------------------------------------------

def due_followups(now):
    """Conversations with an expert's answer unread for CHAT_FOLLOWUP_DELAY_SECONDS by a visitor who is away and gave
    an address, none queued within CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS, and an answer stored since the last one.

    Driven by the partial index ``visitor_away_reachable``, then the conversations' (visitor, status) index and
    the messages' (conversation, seq) one: nothing is added to the message path.
    """
    horizon = now - timedelta(days=settings.CHAT_FOLLOWUP_LINK_DAYS)
    unread = Message.objects.filter(
        conversation=OuterRef("pk"), author=Message.Author.EXPERT, seq__gt=OuterRef("visitor_read_seq"),
        created_at__lte=now - timedelta(seconds=settings.CHAT_FOLLOWUP_DELAY_SECONDS),
        created_at__gt=Coalesce(OuterRef("followup_queued_at"), Value(horizon, output_field=DateTimeField())),
    )
    return (
        Conversation.objects.filter(visitor__away_since__isnull=False, visitor__erased_at__isnull=True)
        .exclude(visitor__email="")
        .filter(last_seq__gt=F("visitor_read_seq"))
        .filter(Q(followup_queued_at__isnull=True) | Q(followup_queued_at__lte=_interval_cutoff(now)))
        .filter(Exists(unread))
        .order_by()  # any order: the model's default would sort every candidate first
    )


def _interval_cutoff(now):
    return now - timedelta(seconds=settings.CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS)


def queue_due_followups(now=None) -> int:
    """The follow-up sweep: one task per due conversation; return how many were queued."""
    from .tasks import email_followup

    now = now or timezone.now()
    queued = 0
    for pk in due_followups(now).values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            # Conditional: a second worker's sweep (or a slow one) queues nothing twice.
            taken = Conversation.objects.filter(pk=pk).filter(
                Q(followup_queued_at__isnull=True) | Q(followup_queued_at__lte=_interval_cutoff(now))
            ).update(followup_queued_at=now)
            if taken:
                enqueue(email_followup, conversation_id=str(pk), queued_at=now.isoformat())
                queued += 1
    return queued
