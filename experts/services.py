"""Routing between visitors and experts: presence, claiming, releasing, "next expert"."""

import base64
import re
import time

from cryptography.hazmat.primitives.asymmetric import ec

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from chatplatform import errors
from chatplatform.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from chatplatform.errors import ChatError
from chatplatform.events import send_event_on_commit
from chatplatform.groups import expert_group, user_group
from chatplatform.i18n import language_codes
from chatplatform.statements import DeleteStatement, InsertStatement, Param
from visitors.models import OPEN_STATUSES, Conversation, Message, Visitor
from visitors.selectors import CONVERSATION_RELATED, conversation_or_not_found
from visitors.services import announce_conversation, start_conversation

from .models import CommunityPost, CommunityReply, ExpertConnection, ExpertProfile, PushSubscription, Topic
from . import topic_routing
from .queue import offer_to_queue, withdraw_from_queue
from .selectors import live_since

# --- presence ---------------------------------------------------------------------

# Every expert socket writes its row when it opens and deletes it when it closes: statements
# built once per database connection (chatplatform/statements.py).
_insert_connection = InsertStatement(ExpertConnection, ["channel_name", "expert", "opened_at", "seen_at"])
_delete_connection = DeleteStatement(
    lambda: ExpertConnection.objects.filter(channel_name=Param("channel_name", ExpertConnection._meta.get_field("channel_name")))
)


def register_connection(*, expert: ExpertProfile, channel_name: str) -> None:
    _sweep_now_and_then()
    # A socket's channel name is new (a random name per socket): one INSERT, not update_or_create's
    # locking read and insert in a transaction (four round trips in each handshake of a storm).
    now = timezone.now()
    _insert_connection.run(channel_name=channel_name, expert_id=expert.pk, opened_at=now, seen_at=now)


def forget_stale_connections() -> int:
    """Delete connections whose heartbeat stopped (their server process died): presence never sticks on them."""
    return ExpertConnection.objects.filter(seen_at__lt=live_since()).delete()[0]


_last_sweep = [0.0]  # when this process last deleted stale connections (monotonic)


def _sweep_now_and_then() -> None:
    """Forget stale connections at most once per heartbeat in this process, not at every socket's beat.

    Reads ignore stale rows anyway (``live_since``); the sweep only keeps the table
    small. Run at every beat, it was a DELETE per expert socket per beat (about 67 a
    second with 2,000 expert sockets).
    """
    now = time.monotonic()
    if now - _last_sweep[0] >= settings.CHAT_PRESENCE_HEARTBEAT_SECONDS:
        _last_sweep[0] = now
        forget_stale_connections()


def refresh_connections(*, channel_names) -> None:
    """Keep these sockets' presence alive: one UPDATE for all of a process's expert sockets."""
    ExpertConnection.objects.filter(channel_name__in=list(channel_names)).update(seen_at=timezone.now())
    _sweep_now_and_then()


def unregister_connection(*, channel_name: str) -> None:
    _delete_connection.run(channel_name=channel_name)


# --- revocation -------------------------------------------------------------------

# Close codes sent with `expert.revoked` (docs/protocol.md): 4401 sign in again, 4403 no longer allowed.
REVOKED_SIGNED_OUT = CLOSE_UNAUTHENTICATED
REVOKED_FORBIDDEN = CLOSE_FORBIDDEN


def close_user_sockets(*, user, code: int, detail: str) -> None:
    """Close every session-authenticated socket of this user (after commit), with ``code``.

    Called on sign-out and on a password change: the session the sockets were
    opened with no longer signs anyone in. Expert dashboards and moderation feeds alike.
    """
    send_event_on_commit(user_group(user.pk), {"type": "user.revoked", "code": code, "detail": detail})


@transaction.atomic
def remove_brands(*, expert: ExpertProfile, brands) -> None:
    """Take brands away from an expert: their conversations there wait for another expert, their sockets close."""
    brand_ids = [b.pk for b in brands]
    if not brand_ids:
        return
    expert.brands.remove(*brand_ids)
    after_membership_removed(expert=expert, brand_ids=brand_ids)


def after_membership_removed(*, expert: ExpertProfile, brand_ids) -> None:
    """The brands are already gone from the expert (e.g. by the admin's form): release and close."""
    for conversation in (
        Conversation.objects.select_for_update(of=("self",)).select_related(*CONVERSATION_RELATED)
        .filter(expert=expert, brand_id__in=list(brand_ids), status=Conversation.Status.ACTIVE)
    ):
        _back_to_waiting(conversation, exclude=False)
    send_event_on_commit(
        expert_group(expert.pk),
        {"type": "expert.revoked", "code": REVOKED_FORBIDDEN, "detail": "You no longer answer for one of your brands."},
    )


@transaction.atomic
def set_presence(*, expert: ExpertProfile, status: str) -> str:
    """Record the status the expert chose; every tab of theirs follows it."""
    ExpertProfile.objects.filter(pk=expert.pk).update(presence=status)
    expert.presence = status
    send_event_on_commit(expert_group(expert.pk), {"type": "expert.presence", "status": status})
    return status


# --- claiming and releasing --------------------------------------------------------------


def _lock_for_expert(expert: ExpertProfile, conversation_id) -> Conversation:
    return conversation_or_not_found(conversation_id, lock=True, brand__experts=expert)


@transaction.atomic
def claim_conversation(*, expert: ExpertProfile, conversation_id) -> Conversation:
    """Assign a waiting conversation to the expert: of two experts claiming at once, exactly one wins."""
    # Lock the expert first: two tabs of one expert claiming at once cannot pass capacity together.
    expert = ExpertProfile.objects.select_for_update().get(pk=expert.pk)
    if expert.is_suspended:
        raise ChatError(errors.FORBIDDEN, "Your expert account is suspended.")
    conversation = _lock_for_expert(expert, conversation_id)
    if conversation.expert_id == expert.pk and conversation.status == Conversation.Status.ACTIVE:
        return conversation  # claiming one's own conversation again changes nothing
    if conversation.status == Conversation.Status.ENDED:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    if conversation.status != Conversation.Status.WAITING:
        raise ChatError(errors.ALREADY_CLAIMED, "Another expert has already taken this conversation.")
    if conversation.excluded_experts.filter(pk=expert.pk).exists():
        raise ChatError(errors.FORBIDDEN, "The visitor asked for another expert.")
    topic_routing.check_may_claim(expert=expert, conversation=conversation)
    active = Conversation.objects.filter(expert=expert, status=Conversation.Status.ACTIVE).count()
    if active >= expert.capacity:
        raise ChatError(errors.CAPACITY, f"You already have {active} conversations open (your capacity is {expert.capacity}).")
    now = timezone.now()
    won = Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.WAITING).update(
        expert=expert, status=Conversation.Status.ACTIVE, claimed_at=now
    )
    if not won:  # only reachable where the row lock is advisory
        raise ChatError(errors.ALREADY_CLAIMED, "Another expert has already taken this conversation.")
    conversation.expert = expert
    conversation.status = Conversation.Status.ACTIVE
    conversation.claimed_at = now
    announce_conversation(conversation)
    withdraw_from_queue(conversation)
    return conversation


def back_to_waiting(conversation: Conversation, *, exclude: bool) -> Conversation:
    """Take the expert off a locked conversation; it waits for the other experts again."""
    return _back_to_waiting(conversation, exclude=exclude)


def _back_to_waiting(conversation: Conversation, *, exclude: bool) -> Conversation:
    previous = conversation.expert
    if exclude and previous is not None:
        conversation.excluded_experts.add(previous)
    conversation.expert = None
    conversation.status = Conversation.Status.WAITING
    conversation.claimed_at = None
    # Back in the queue, it is offered to the whole brand at once: the visitor has waited already.
    conversation.topic_offer_until = None
    conversation.save(update_fields=["expert", "status", "claimed_at", "topic_offer_until"])
    payload = announce_conversation(conversation, also_experts=[previous.pk if previous else None])
    offer_to_queue(conversation, payload=payload)
    return conversation


@transaction.atomic
def release_conversation(*, expert: ExpertProfile, conversation_id) -> Conversation:
    """The expert hands the conversation back: it waits for the other experts (and them)."""
    conversation = _lock_for_expert(expert, conversation_id)
    if conversation.expert_id != expert.pk:
        raise ChatError(errors.FORBIDDEN, "This conversation is not assigned to you.")
    if conversation.status != Conversation.Status.ACTIVE:
        raise ChatError(errors.ENDED, "This conversation has ended.")
    return _back_to_waiting(conversation, exclude=False)


@transaction.atomic
def next_expert(*, visitor: Visitor) -> Conversation:
    """"This expert is not the right one": release and exclude them; the question waits again.

    With no open conversation, the visitor's last ended conversation that had
    an expert is asked again, as a new waiting conversation that excludes that
    expert ("keep searching for the right one").
    """
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related(*CONVERSATION_RELATED)
        .filter(visitor=visitor, status__in=OPEN_STATUSES)
        .first()
    )
    if conversation is not None:
        if conversation.status == Conversation.Status.WAITING:
            return conversation  # nobody to move on from yet
        return _back_to_waiting(conversation, exclude=True)
    last = (
        Conversation.objects.filter(
            visitor=visitor, status=Conversation.Status.ENDED, ended_by__in=["visitor", "expert"], expert__isnull=False
        )
        .select_related("topic")
        .order_by("-ended_at")
        .first()
    )
    first = last and last.messages.filter(author=Message.Author.VISITOR).order_by("seq").first()
    if last is None or first is None:
        raise ChatError(errors.NO_CONVERSATION, "There is no conversation to take to another expert.")
    excluded = list(last.excluded_experts.values_list("pk", flat=True))
    if last.expert_id:
        excluded.append(last.expert_id)
    return start_conversation(
        visitor=visitor,
        text=first.text,
        client_id=f"next:{last.pk}",
        topic_slug=last.topic.slug if last.topic_id else None,
        excluded=excluded,
    )


# --- profile ------------------------------------------------------------------------------


@transaction.atomic
def update_profile(*, expert: ExpertProfile, display_name: str, bio: str, avatar_url: str, topic_ids,
                   language: str | None = None) -> ExpertProfile:
    """Change what visitors see of the expert and the topics they answer (only their brands' topics)."""
    display_name = display_name.strip()
    if not display_name:
        raise ChatError(errors.INVALID_FIELD, "A display name is required.", field="display_name")
    topics = list(Topic.objects.filter(pk__in=list(topic_ids), brand__experts=expert).distinct())
    if len(topics) != len(set(topic_ids)):
        raise ChatError(errors.INVALID_FIELD, "Choose topics of your brands.", field="topics")
    fields = ["display_name", "bio", "avatar_url"]
    if language is not None:  # None: left as it is; "": the browser's
        if language and language not in language_codes():
            raise ChatError(errors.INVALID_FIELD, "Choose one of the listed languages.", field="language")
        expert.language = language
        fields.append("language")
    expert.display_name = display_name
    expert.bio = bio.strip()
    expert.avatar_url = avatar_url.strip()
    expert.save(update_fields=fields)
    expert.topics.set(topics)
    return expert


# --- community panel ---------------------------------------------------------------------------


@transaction.atomic
def create_community_post(*, author: ExpertProfile, title: str, body: str, space: str | None = None,
                          source_conversation_id=None) -> CommunityPost:
    """Start a thread in one of the author's community spaces (a brand's slug or the cross-brand
    ``all``; None: the shared conversation's brand, else their first); a shared conversation must be
    one of the author's own past ones."""
    from .selectors import CROSS_BRAND, access_past_conversation, community_spaces

    source = None
    if source_conversation_id:
        source = access_past_conversation(expert=author, conversation_id=source_conversation_id)
    spaces = dict(community_spaces(author))
    if space is None:
        space = source.brand.slug if source is not None else next(iter(spaces), None)
    if space not in spaces:
        raise ChatError(errors.INVALID_FIELD, "Choose one of your community spaces.", field="space")
    brand = None if space == CROSS_BRAND else author.brands.get(slug=space)
    now = timezone.now()
    return CommunityPost.objects.create(
        author=author, brand=brand, title=title.strip(), body=body.strip(), source_conversation=source,
        last_activity_at=now,
    )


@transaction.atomic
def add_community_reply(*, author: ExpertProfile, post_id: int, body: str) -> CommunityReply:
    """Answer a thread the author may see (another brand's is `not_found`); it moves to the top of the panel."""
    from .selectors import visible_community_posts

    post = visible_community_posts(author).select_for_update().filter(pk=post_id).first()
    if post is None:
        raise ChatError(errors.NOT_FOUND, "No such post.")
    reply = CommunityReply.objects.create(post=post, author=author, body=body.strip())
    CommunityPost.objects.filter(pk=post.pk).update(last_activity_at=reply.created_at)
    return reply


# --- notifications when not looking (experts/tasks.py sends them) --------------------------------

# Browsers one expert may have subscribed at once; subscribing one more drops the oldest.
MAX_PUSH_SUBSCRIPTIONS = 10
_P256_POINT_BYTES = 65
_AUTH_SECRET_BYTES = 16


def _b64url_bytes(value: str, *, length: int, field: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != length or not re.fullmatch(r"[A-Za-z0-9_-]+=*", value):
        raise ChatError(errors.INVALID_FIELD, f"keys.{field} is not a browser's push key.", field=field)
    return raw


@transaction.atomic
def subscribe_push(*, expert: ExpertProfile, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Keep one browser's push subscription for the expert (the same browser again: updated, or moved to them)."""
    from . import push

    if not push.enabled():
        raise ChatError(errors.NOT_FOUND, "Push notifications are not configured on this server.")
    if len(endpoint) > PushSubscription._meta.get_field("endpoint").max_length:
        raise ChatError(errors.TOO_LONG, "endpoint is too long.", field="endpoint")
    try:
        URLValidator(schemes=list(settings.CHAT_PUSH_ENDPOINT_SCHEMES))(endpoint)
    except ValidationError:
        raise ChatError(errors.INVALID_FIELD, "endpoint is not a push service's https address.", field="endpoint") from None
    point = _b64url_bytes(p256dh, length=_P256_POINT_BYTES, field="p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ChatError(errors.INVALID_FIELD, "keys.p256dh is not a P-256 public key.", field="p256dh") from None
    _b64url_bytes(auth, length=_AUTH_SECRET_BYTES, field="auth")
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"expert": expert, "p256dh": p256dh, "auth": auth}
    )
    older = PushSubscription.objects.filter(expert=expert).order_by("-created_at", "-pk").values_list("pk", flat=True)
    PushSubscription.objects.filter(pk__in=list(older[MAX_PUSH_SUBSCRIPTIONS:])).delete()
    return subscription


def unsubscribe_push(*, expert: ExpertProfile, endpoint: str) -> bool:
    """Forget one of the expert's browsers (another expert's endpoint is left alone); return whether one was."""
    deleted, _ = PushSubscription.objects.filter(expert=expert, endpoint=endpoint).delete()
    return bool(deleted)


def set_digest(*, expert: ExpertProfile, enabled: bool) -> None:
    """Switch the expert's e-mail digest of waiting questions on or off."""
    expert.digest_enabled = enabled
    ExpertProfile.objects.filter(pk=expert.pk).update(digest_enabled=enabled)
