"""Reads for the expert side, each with its access check."""

import re
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import constant_time_compare
from django.db.models import Avg, Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.shared_reads import SharedReads
from chatplatform.statements import Param, Statement
from visitors.models import Brand, Conversation, Message
from visitors.selectors import CONVERSATION_RELATED, conversation_or_not_found, parse_conversation_id

from .models import CommunityPost, ExpertConnection, ExpertProfile, Topic


def _expert_param():
    return Param("expert", ExpertProfile._meta.pk)


# The reads every expert socket makes when it connects, built once per database connection
# (chatplatform/statements.py).
_expert_for_user = Statement(
    lambda: ExpertProfile.objects.filter(user_id=Param("user", get_user_model()._meta.pk)).order_by("pk")[:1]
)
_brand_slugs = Statement(lambda: Brand.objects.filter(experts=_expert_param()).values_list("slug", flat=True))
_assigned_ids = Statement(
    lambda: Conversation.objects.filter(expert_id=_expert_param(), status=Conversation.Status.ACTIVE).values_list("pk", flat=True)
)
_assigned = Statement(
    lambda: Conversation.objects.select_related(*CONVERSATION_RELATED)
    .filter(expert_id=_expert_param(), status=Conversation.Status.ACTIVE)
    .order_by("claimed_at")
)
_queue_ids = Statement(
    lambda: Conversation.objects.filter(status=Conversation.Status.WAITING, brand__experts=_expert_param())
    .exclude(excluded_experts=_expert_param())
    .order_by("created_at")
    .values_list("pk", flat=True)[:200]
)


def expert_for_user(user) -> ExpertProfile | None:
    """The user's expert profile, or None (anonymous users, managers without one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _expert_for_user.first(user=user.pk)


def sockets_still_allowed(sockets) -> dict:
    """Whether each socket's session still signs its user in, and its expert is not suspended.

    ``sockets``: (channel name, session key, user id, expert id) each. Returns
    channel name -> None (still allowed), "signed_out" (the user signed out, so
    the session is gone; changed their password, so its auth hash no longer
    matches; or was deactivated) or "suspended" (a community manager suspended
    the expert). A few queries for all of them, not a few per socket: the
    sessions (with the database session engine, one query), the users, the
    suspended experts.
    """
    sockets = list(sockets)
    keys = {key for _, key, _, _ in sockets if key}
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store_class, DatabaseSessionStore):  # Django's, or chatplatform.sessions
        Session = store_class.get_model_class()
        rows = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
            "session_key", "session_data"
        )
        decoder = store_class()
        sessions = {key: decoder.decode(data) for key, data in rows}
    else:  # another engine: read each session the way Django does
        sessions = {key: dict(store_class(session_key=key).items()) for key in keys}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in={u for _, _, u, _ in sockets}, is_active=True)}
    suspended = set(
        ExpertProfile.objects.filter(pk__in={e for _, _, _, e in sockets}, is_suspended=True).values_list("pk", flat=True)
    )
    verdicts = {}
    for channel_name, key, user_id, expert_id in sockets:
        session = sessions.get(key) or {}
        user = users.get(user_id)
        signed_in = (
            user is not None
            and str(session.get(SESSION_KEY)) == str(user_id)
            and constant_time_compare(session.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash())
        )
        verdicts[channel_name] = None if signed_in else "signed_out"
        if signed_in and expert_id in suspended:
            verdicts[channel_name] = "suspended"
    return verdicts


def brand_slugs(expert: ExpertProfile) -> list[str]:
    return _brand_slugs.all(expert=expert.pk)


def access_conversation(*, expert: ExpertProfile, conversation_id, assigned: bool = True) -> Conversation:
    """A conversation the expert may act on, or the error that says why not.

    Another brand's conversation does not exist for them (`not_found`); one of
    their brand that is not assigned to them (or that excluded them) is
    `forbidden`. With ``assigned=False`` a waiting conversation they may claim passes too.
    """
    conversation = conversation_or_not_found(conversation_id, brand__experts=expert)
    if conversation.expert_id == expert.pk:
        return conversation
    if not assigned and conversation.status == Conversation.Status.WAITING:
        if not conversation.excluded_experts.filter(pk=expert.pk).exists():
            return conversation
    raise ChatError(errors.FORBIDDEN, "This conversation is not assigned to you.")


def claimable_queue(expert: ExpertProfile) -> list[Conversation]:
    """Waiting conversations of the expert's brands that did not exclude them, oldest first.

    Their ids first, and the conversations with what they show only when there
    are any: every expert socket asks at its welcome, and the queue is most
    often empty (the seven-table read costs several times the plain one to build).
    """
    ids = _queue_ids.all(expert=expert.pk)
    if not ids:
        return []
    # Still waiting: one claimed in between is no longer in the queue.
    return list(
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .filter(pk__in=ids, status=Conversation.Status.WAITING)
        .order_by("created_at")
    )


def queue_previews(conversations) -> dict:
    """The first visitor message of each conversation, for the queue's preview line.

    No queue, nothing to build: Django would compile the whole query before
    finding the empty ``IN`` (every expert welcome asks, and the queue is most
    often empty; a fortieth of a reconnect storm's CPU, docs/performance.md).
    """
    conversations = list(conversations)
    if not conversations:
        return {}
    rows = Message.objects.filter(conversation__in=conversations, seq=1).values_list("conversation_id", "text")
    return {str(cid): text[:280] for cid, text in rows}


def assigned_conversation_ids(expert: ExpertProfile) -> list[str]:
    """The ids of the expert's active conversations (one index scan: what a socket follows before its welcome)."""
    return [str(pk) for pk in _assigned_ids.all(expert=expert.pk)]


def assigned_conversations(expert: ExpertProfile) -> list[Conversation]:
    return _assigned.all(expert=expert.pk)


def live_since():
    return timezone.now() - timedelta(seconds=3 * settings.CHAT_PRESENCE_HEARTBEAT_SECONDS)


def is_connected(expert: ExpertProfile) -> bool:
    return ExpertConnection.objects.filter(expert=expert, seen_at__gte=live_since()).exists()


def effective_presence(expert: ExpertProfile) -> str:
    """What visitors and other experts see: the chosen status while connected, else offline."""
    if expert.is_suspended or not is_connected(expert):
        return ExpertProfile.Presence.OFFLINE
    return expert.presence


def experts_online_count(brand) -> int:
    """How many of the brand's experts (a brand or its id) are online now (chosen online, with a live socket)."""
    return (
        ExpertProfile.objects.filter(
            brands=brand,
            presence=ExpertProfile.Presence.ONLINE,
            is_suspended=False,
            connections__seen_at__gte=live_since(),
        )
        .values("pk")
        .distinct()
        .count()
    )


def experts_online_counts(brand_ids) -> dict:
    """``experts_online_count`` for many brands (ids) in one query: brand id -> count (brands with none left out)."""
    Membership = ExpertProfile.brands.through
    rows = (
        Membership.objects.filter(
            brand_id__in=list(brand_ids),
            expertprofile__presence=ExpertProfile.Presence.ONLINE,
            expertprofile__is_suspended=False,
            expertprofile__connections__seen_at__gte=live_since(),
        )
        .values("brand_id")
        .annotate(experts=Count("expertprofile_id", distinct=True))
    )
    return {row["brand_id"]: row["experts"] for row in rows}


_online_counts = SharedReads(experts_online_count, ttl=lambda: settings.CHAT_ONLINE_COUNT_SECONDS)


async def shared_experts_online_count(brand) -> int:
    """``experts_online_count`` as the visitor handshakes of this process share it.

    Counted at most once per CHAT_ONLINE_COUNT_SECONDS per brand: in a reconnect
    storm every visitor's welcome asks, and the figure the widget shows ("3
    experts online") may be that many seconds old.
    """
    return await _online_counts.get(brand.pk)


# --- the dashboard's pages ------------------------------------------------------------

def past_conversations(*, expert: ExpertProfile, query: str = "", limit: int = 50) -> list[Conversation]:
    """The ended conversations that were assigned to this expert, newest first.

    ``query`` matches message text, the visitor's nickname or the topic. Only
    conversations whose expert is this one are ever returned.
    """
    conversations = (
        Conversation.objects.select_related(*CONVERSATION_RELATED)
        .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("seq")))
        .filter(expert=expert, status=Conversation.Status.ENDED)
    )
    query = query.strip()
    if query:
        matching = Message.objects.filter(conversation=OuterRef("pk"), text__icontains=query)
        conversations = conversations.filter(
            Q(visitor__nickname__icontains=query) | Q(topic__name__icontains=query) | Q(pk__in=Subquery(matching.values("conversation")))
        )
    return list(conversations.order_by("-ended_at")[:limit])


def access_past_conversation(*, expert: ExpertProfile, conversation_id) -> Conversation:
    """One of the expert's own ended conversations, or `not_found` (anyone else's does not exist for them)."""
    return conversation_or_not_found(conversation_id, expert=expert, status=Conversation.Status.ENDED)


def transcript(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.order_by("seq"))


def expert_statistics(expert: ExpertProfile, *, days: int = 14) -> dict:
    """The expert's own numbers: conversations, average rating, first-response time, conversations per day."""
    assigned = Conversation.objects.filter(expert=expert)
    totals = assigned.aggregate(
        conversations=Count("pk"),
        rated=Count("rating_score"),
        average_rating=Avg("rating_score"),
    )
    first_reply = Message.objects.filter(conversation=OuterRef("pk"), author=Message.Author.EXPERT, expert=expert)
    timed = (
        assigned.filter(claimed_at__isnull=False)
        .annotate(first_reply_at=Subquery(first_reply.order_by("seq").values("created_at")[:1]))
        .exclude(first_reply_at__isnull=True)
        .order_by("-claimed_at")
        .values_list("claimed_at", "first_reply_at")[:200]
    )
    delays = [max(0.0, (replied - claimed).total_seconds()) for claimed, replied in timed]
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    counts = dict(
        assigned.filter(created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    per_day = [(since + timedelta(days=i), counts.get(since + timedelta(days=i), 0)) for i in range(days)]
    return {
        "conversations": totals["conversations"],
        "rated": totals["rated"],
        "average_rating": round(totals["average_rating"], 1) if totals["average_rating"] is not None else None,
        "first_response_seconds": round(sum(delays) / len(delays)) if delays else None,
        "per_day": per_day,
    }


# --- the community panel ----------------------------------------------------------------

# The cross-brand space's key in the panel's links and the new post form: "~" is in no brand's slug.
CROSS_BRAND = "~all"
CROSS_BRAND_LABEL = "All brands (cross-brand space)"


def community_spaces(expert: ExpertProfile) -> list[tuple[str, str]]:
    """The spaces the expert reads and posts in, as (key, label): each of their brands, then the
    cross-brand space if one of their brands opted in (Brand.community_cross_brand)."""
    brands = list(expert.brands.order_by("name").values_list("slug", "name", "community_cross_brand"))
    spaces = [(slug, name) for slug, name, _ in brands]
    if any(cross for _, _, cross in brands):
        spaces.append((CROSS_BRAND, CROSS_BRAND_LABEL))
    return spaces


def visible_community_posts(expert: ExpertProfile):
    """The posts ``expert`` may read and answer: their brands' spaces, and the cross-brand one if theirs opted in."""
    mine = expert.brands.all()
    visible = Q(brand__in=mine.values("pk"))
    if mine.filter(community_cross_brand=True).exists():
        visible |= Q(brand__isnull=True)
    return CommunityPost.objects.filter(visible)


def community_posts(*, expert: ExpertProfile, query: str = "", space: str = "", limit: int = 100) -> list[CommunityPost]:
    """Posts the expert may see with their reply counts, newest activity first; ``space`` narrows to one
    of ``community_spaces`` (another is `not_found`); ``query`` searches titles, posts and replies."""
    posts = visible_community_posts(expert).select_related("author", "brand").annotate(reply_count=Count("replies"))
    if space:
        if space not in dict(community_spaces(expert)):
            raise ChatError(errors.NOT_FOUND, "No such community space.")
        posts = posts.filter(brand__isnull=True) if space == CROSS_BRAND else posts.filter(brand__slug=space)
    query = query.strip()
    if query:
        posts = posts.filter(
            Q(title__icontains=query) | Q(body__icontains=query) | Q(pk__in=Subquery(
                CommunityPost.objects.filter(replies__body__icontains=query).values("pk")
            ))
        )
    return list(posts.order_by("-last_activity_at")[:limit])


def community_post(*, expert: ExpertProfile, post_id: int) -> CommunityPost:
    """One post the expert may see, with its replies (oldest first), or `not_found` (another brand's is not there)."""
    post = visible_community_posts(expert).select_related("author", "brand").filter(pk=post_id).first()
    if post is None:
        raise ChatError(errors.NOT_FOUND, "No such post.")
    post.reply_list = list(post.replies.select_related("author").order_by("created_at"))
    return post


EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL_PATTERN = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# @handles on social networks: @sam_runs, @sam.trails.
HANDLE_PATTERN = re.compile(r"(?<![\w@])@\w(?:[\w.]*\w)?")
# A house number, up to four capitalised words and a street word: 221B Baker Street, 10 Downing St.
STREET_PATTERN = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][\w'.-]*\s+){1,4}"
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|square|sq|terrace|crescent|close)\b\.?"
)
# Continental style: 12 rue de la Paix, 3 bis avenue Foch, 8 calle Mayor, Hauptstraße 5.
STREET_WORD_FIRST_PATTERN = re.compile(
    r"\b\d{1,5}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|calle|via|piazza)"
    r"(?:\s+[\w'-]+){1,4}"
    r"|\b[\w-]*(?i:straße|strasse|str\.|weg|gasse|platz)\s+\d{1,5}[a-z]?\b"
)
# Order, customer or tracking numbers: #A1234, ORD-2024-55123, 1Z999AA10123456784, 48213.
ID_PATTERN = re.compile(
    r"#\s?[\w-]*\d[\w-]*"                                    # #A1234, # 48213
    r"|(?<![\w+])(?=[\w-]*\d{4})(?=[\w-]*[A-Za-z])[\w-]*\w"  # letters and a run of four digits or more
    r"|(?<![\w+])\d{5,}(?!\w)"                                # five digits or more
)
# Seven or more digits, allowing the usual separators: +33 6 12 34 56 78, (555) 123-4567.
PHONE_PATTERN = re.compile(r"(?<![\w])\+?\(?\d(?:[\s().-]*\d){6,}")
SHARE_EXCERPT_MESSAGES = 12


def scrub_personal_details(text: str, names=()) -> str:
    """Remove what could identify a visitor: links, e-mail addresses, @handles, street
    addresses, order and other ID numbers, phone numbers, and their names.

    Patterns, not understanding: the expert reads and edits the draft before posting.
    """
    text = URL_PATTERN.sub("[link removed]", text)
    text = EMAIL_PATTERN.sub("[e-mail removed]", text)
    text = HANDLE_PATTERN.sub("[handle removed]", text)
    text = STREET_PATTERN.sub("[address removed]", text)
    text = STREET_WORD_FIRST_PATTERN.sub("[address removed]", text)
    text = ID_PATTERN.sub("[number removed]", text)
    text = PHONE_PATTERN.sub("[phone number removed]", text)
    for name in names:
        if name and name.strip():
            text = re.sub(rf"(?<!\w){re.escape(name.strip())}(?!\w)", "the visitor", text, flags=re.IGNORECASE)
    return text


def share_draft(*, expert: ExpertProfile, conversation_id) -> dict:
    """A community post drafted from one of the expert's past conversations, for them to edit.

    The excerpt names the visitor "Visitor" and drops their nickname and the
    personal details `scrub_personal_details` finds, wherever they appear.
    """
    conversation = access_past_conversation(expert=expert, conversation_id=conversation_id)
    names = [conversation.visitor.nickname]
    lines = []
    for message in transcript(conversation)[:SHARE_EXCERPT_MESSAGES]:
        if message.author == Message.Author.VISITOR:
            who = "Visitor"
        elif message.author == Message.Author.EXPERT:
            who = "Me" if message.expert_id == expert.pk else "Expert"
        else:
            who = "Warning" if message.kind == Message.Kind.WARNING else "Notice"
        lines.append(f"> {who}: {scrub_personal_details(message.text, names)}")
    topic = conversation.topic.name if conversation.topic_id else "a visitor's question"
    return {
        "title": f"A conversation about {topic.lower() if conversation.topic_id else topic}",
        "body": "What happened, and how would you have handled it?\n\n" + "\n".join(lines),
        "source_conversation": str(conversation.id),
        # Shared in the space of the brand it happened at.
        "space": conversation.brand.slug,
    }


def brand_topics(expert: ExpertProfile):
    """The topics of the expert's brands: what they may choose to answer."""
    return Topic.objects.filter(brand__experts=expert).select_related("brand").distinct().order_by("brand__name", "name")
