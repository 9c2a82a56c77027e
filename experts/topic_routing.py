"""Topic routing: who is offered a waiting question, and when it is widened to the whole brand.

A new question with a topic is offered first to the experts of that topic, and to
those who chose none of the brand's topics (visitors/topic_offers.py decides, and
stores ``Conversation.topic_offer_until``). When nobody claimed it by then, the
worker's ``widen_topic_offers`` sweep offers it to every online expert of the brand
(a ``queue.added`` of wave "brand"); a socket that already shows it sends nothing
again, so no expert is offered a question twice.

Each offer says which kind it is for the expert who sees it (``offer`` in
``queue.added`` and ``welcome.queue_offers``, docs/protocol.md): "topic" when the
question is in one of their topics, "brand" otherwise.
"""

import logging

from django.db import transaction
from django.utils import timezone

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.statements import Param, Statement
from visitors.models import Conversation
from visitors.selectors import CONVERSATION_RELATED

from .models import ExpertProfile, Topic
from .queue import offer_to_queue

logger = logging.getLogger(__name__)

TOPIC = "topic"
BRAND = "brand"
SWEEP_BATCH = 500


# Every expert socket's welcome reads it: built once per database connection (chatplatform/statements.py).
_topic_slugs = Statement(
    lambda: Topic.objects.filter(experts=Param("expert", ExpertProfile._meta.pk)).values_list("brand__slug", "slug")
)


def topic_slugs(expert: ExpertProfile) -> dict[str, frozenset]:
    """{brand slug: the slugs of the topics the expert chose there} (brands with none left out)."""
    found: dict[str, set] = {}
    for brand_slug, slug in _topic_slugs.all(expert=expert.pk):
        found.setdefault(brand_slug, set()).add(slug)
    return {brand: frozenset(slugs) for brand, slugs in found.items()}


def offer_for(conversation: dict, wave: str, topics: dict) -> str | None:
    """The kind of offer a waiting question is for an expert with these ``topics``; None: not offered to them (yet).

    ``conversation``: the protocol's object (brand and topic slugs); ``wave``: "topic"
    while only its topic's experts are offered it, else "brand".
    """
    mine = topics.get(conversation["brand"])
    topic = conversation.get("topic")
    if topic and mine and topic in mine:
        return TOPIC
    if wave == TOPIC and topic and mine:
        return None  # the expert chose other topics of this brand: offered once the brand's wait is over
    return BRAND


def wave_of(conversation: Conversation, now=None) -> str:
    until = conversation.topic_offer_until
    return TOPIC if until is not None and until > (now or timezone.now()) else BRAND


def offered_queue(conversations, topics: dict) -> list[tuple[Conversation, dict, str]]:
    """The waiting conversations (with their protocol objects) this expert is offered now, each with its kind."""
    from visitors.serializers import conversation_object

    now = timezone.now()
    offered = []
    for conversation in conversations:
        payload = conversation_object(conversation)
        offer = offer_for(payload, wave_of(conversation, now), topics)
        if offer is not None:
            offered.append((conversation, payload, offer))
    return offered


def check_may_claim(*, expert: ExpertProfile, conversation: Conversation) -> None:
    """Refuse the claim of a question still offered only to other experts (`forbidden`)."""
    if wave_of(conversation) != TOPIC or conversation.topic_id is None:
        return
    mine = set(Topic.objects.filter(experts=expert, brand_id=conversation.brand_id).values_list("pk", flat=True))
    if mine and conversation.topic_id not in mine:
        raise ChatError(errors.FORBIDDEN, "This question is offered to the experts of its topic first.")


def widen_topic_offers() -> int:
    """The sweep: offer every question whose topic wait is over to the whole brand; return how many."""
    now = timezone.now()
    due = list(
        Conversation.objects.filter(status=Conversation.Status.WAITING, topic_offer_until__lte=now)
        .order_by("topic_offer_until").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    widened = 0
    for conversation_id in due:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(of=("self",)).select_related(*CONVERSATION_RELATED)
                .filter(pk=conversation_id, status=Conversation.Status.WAITING, topic_offer_until__lte=now).first()
            )
            if conversation is None:
                continue  # claimed or ended meanwhile
            conversation.topic_offer_until = None
            conversation.save(update_fields=["topic_offer_until"])
            offer_to_queue(conversation)  # wave "brand" now; sockets already showing it send nothing
            widened += 1
    return widened
