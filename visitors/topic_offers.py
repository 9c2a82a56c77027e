"""Topic routing's first decision, when a question is asked: to its topic's experts first, or to everyone.

Here, below the experts app, because the question is started on the visitor's side
(visitors/services.py ``start_conversation``); the experts are reached through the
brand's relations, not an import. The rest of topic routing (who is shown what, the
sweep that widens the offer) is experts/topic_routing.py's (docs/faces.md, "Topic routing").
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone


def topic_offer_until(topic):
    """Until when a new question is offered only to the experts of its topic; None: to every expert now.

    To everyone at once (None) when the brand waits 0 s, or no online expert
    could take it first (nobody of its topic online, nor anyone who chose none of the
    brand's topics): a question nobody is shown would wait for nothing.
    """
    brand = topic.brand
    if not brand.topic_wait_seconds:
        return None
    now = timezone.now()
    # experts.selectors.live_since: a connection refreshed within three heartbeats is live.
    online = brand.experts.filter(
        presence="online", is_suspended=False,
        connections__seen_at__gte=now - timedelta(seconds=3 * settings.CHAT_PRESENCE_HEARTBEAT_SECONDS),
    )
    if not (online.filter(topics=topic).exists() or online.exclude(topics__brand=brand).exists()):
        return None
    return now + timedelta(seconds=brand.topic_wait_seconds)
