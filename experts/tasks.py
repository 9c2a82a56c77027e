"""Experts who are not looking: the Web Push and digest sweeps and their tasks (chatplatform/worker.py).

Nothing here runs on the message path: the push sweep (CHAT_SWEEP_PUSH_SECONDS)
reads what happened from the conversations' own columns, with indexed queries,
and queues one task per push; the worker sends it. docs/architecture.md
"Background work" gives the cost and the latency.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from chatplatform.i18n import supported
from chatplatform.worker import claim_once, enqueue, send_mail_once, task
from visitors.models import Brand, Conversation, Message

from . import push
from .models import ExpertConnection, ExpertProfile, PushNotice, PushSubscription
from .selectors import live_since

logger = logging.getLogger(__name__)

# Questions asked longer ago than this are not pushed about: an expert who subscribes, or a
# worker back from a long stop, does not get the backlog (the digest and the queue show it).
QUESTION_LOOKBACK = timedelta(minutes=10)


def _not_looking():
    """Experts with a push subscription, not suspended, and no live dashboard socket."""
    live = ExpertConnection.objects.filter(expert=OuterRef("pk"), seen_at__gte=live_since())
    return ExpertProfile.objects.filter(
        pk__in=PushSubscription.objects.values("expert_id"), is_suspended=False
    ).exclude(Exists(live))


def _new_questions(experts: set, now) -> dict:
    """{(expert id, brand id): [conversation ids]}: questions asked lately that these experts were not pushed about."""
    memberships = ExpertProfile.brands.through.objects.filter(expertprofile_id__in=experts).values_list(
        "expertprofile_id", "brand_id"
    )
    by_brand: dict = {}
    for expert_id, brand_id in memberships:
        by_brand.setdefault(brand_id, set()).add(expert_id)
    if not by_brand:
        return {}
    # The brand queue's index (brand, status, created_at).
    questions = list(Conversation.objects.filter(
        brand_id__in=by_brand, status=Conversation.Status.WAITING, created_at__gte=now - QUESTION_LOOKBACK
    ).order_by("created_at").values_list("pk", "brand_id", "topic_id", "topic_offer_until"))
    if not questions:
        return {}
    ids = [pk for pk, _, _, _ in questions]
    # Topic routing (topic_routing.py): a question still offered only to its topic's experts is not
    # pushed to experts of the brand's other topics; once widened, it is (no notice was written).
    topics: dict = {}
    for expert_id, brand_id, topic_id in ExpertProfile.topics.through.objects.filter(
        expertprofile_id__in=experts
    ).values_list("expertprofile_id", "topic__brand_id", "topic_id"):
        topics.setdefault((expert_id, brand_id), set()).add(topic_id)
    excluded = set(Conversation.excluded_experts.through.objects.filter(conversation_id__in=ids).values_list(
        "conversation_id", "expertprofile_id"))
    notified = set(PushNotice.objects.filter(conversation_id__in=ids, expert_id__in=experts).values_list(
        "conversation_id", "expert_id"))
    due: dict = {}
    for pk, brand_id, topic_id, topic_offer_until in questions:
        topic_only = topic_id is not None and topic_offer_until is not None and topic_offer_until > now
        for expert_id in by_brand[brand_id]:
            mine = topics.get((expert_id, brand_id))
            if topic_only and mine and topic_id not in mine:
                continue
            if (pk, expert_id) not in excluded and (pk, expert_id) not in notified:
                due.setdefault((expert_id, brand_id), []).append(pk)
    return due


def _unread_messages(experts: set, now) -> list:
    """[(expert id, brand id, conversation id, seq)]: the newest unread visitor message of each of
    these experts' conversations, when it was not pushed about and no push for it is recent."""
    newest_unread = Message.objects.filter(
        conversation=OuterRef("pk"), author=Message.Author.VISITOR, seq__gt=OuterRef("expert_read_seq")
    ).order_by("-seq").values("seq")[:1]
    # The expert's active conversations (index conv_expert_status), then (conversation, seq) for the message.
    rows = list(Conversation.objects.filter(
        expert_id__in=experts, status=Conversation.Status.ACTIVE, last_seq__gt=F("expert_read_seq")
    ).annotate(unread=Subquery(newest_unread)).filter(unread__isnull=False).values_list(
        "expert_id", "brand_id", "pk", "unread"))
    if not rows:
        return []
    notices = {
        (expert_id, pk): (seq, at) for expert_id, pk, seq, at in PushNotice.objects.filter(
            conversation_id__in=[pk for _, _, pk, _ in rows], expert_id__in=experts
        ).values_list("expert_id", "conversation_id", "seq", "notified_at")
    }
    recent = now - timedelta(seconds=settings.CHAT_PUSH_MIN_INTERVAL_SECONDS)
    due = []
    for expert_id, brand_id, pk, seq in rows:
        notified_seq, notified_at = notices.get((expert_id, pk), (None, None))
        if notified_seq is None or (seq > notified_seq and notified_at <= recent):
            due.append((expert_id, brand_id, pk, seq))
    return due


def _queue_pushes(*, expert_id: int, kind: str, brand_id: int, event: str, count: int = 1) -> int:
    subscriptions = list(PushSubscription.objects.filter(expert_id=expert_id).values_list("pk", flat=True))
    for subscription_id in subscriptions:
        enqueue(send_push, subscription_id=subscription_id, kind=kind, brand_id=brand_id, count=count,
                key=f"push:{subscription_id}:{event}")
    return len(subscriptions)


def push_sweep(now=None) -> dict:
    """Queue a push for each new question and unread visitor message of experts not looking (a sweep).

    Each event once: a ``PushNotice`` per (expert, conversation) records what was
    pushed, written in the transaction that queues the tasks.
    """
    if not push.enabled():
        return {}
    now = now or timezone.now()
    experts = set(_not_looking().values_list("pk", flat=True))
    if not experts:
        return {}
    queued = {"questions": 0, "messages": 0}
    for (expert_id, brand_id), conversation_ids in _new_questions(experts, now).items():
        with transaction.atomic():
            PushNotice.objects.bulk_create(
                [PushNotice(expert_id=expert_id, conversation_id=pk, seq=0, notified_at=now) for pk in conversation_ids],
                ignore_conflicts=True,
            )
            queued["questions"] += _queue_pushes(expert_id=expert_id, kind=push.QUESTION, brand_id=brand_id,
                                                 event=f"question:{conversation_ids[-1]}", count=len(conversation_ids))
    for expert_id, brand_id, pk, seq in _unread_messages(experts, now):
        with transaction.atomic():
            PushNotice.objects.update_or_create(expert_id=expert_id, conversation_id=pk,
                                                defaults={"seq": seq, "notified_at": now})
            queued["messages"] += _queue_pushes(expert_id=expert_id, kind=push.MESSAGE, brand_id=brand_id,
                                                event=f"message:{pk}:{seq}")
    # Notices no push needs any more: a question's, past the lookback (it is not new again), unless
    # its conversation is active (then it holds the seq pushed about); an ended conversation's.
    PushNotice.objects.filter(notified_at__lt=now - QUESTION_LOOKBACK).exclude(
        conversation__status=Conversation.Status.ACTIVE).delete()
    return {k: v for k, v in queued.items() if v}


@task()
def send_push(*, subscription_id: int, kind: str, brand_id: int, key: str, count: int = 1) -> bool:
    """Push one notification to one browser, once per ``key``; return whether it left now.

    Skipped when the expert opened a dashboard meanwhile. A subscription the push
    service no longer knows is deleted.
    """
    subscription = PushSubscription.objects.select_related("expert").filter(pk=subscription_id).first()
    brand = Brand.objects.filter(pk=brand_id).first()
    if subscription is None or brand is None or not push.enabled():
        return False
    if ExpertConnection.objects.filter(expert_id=subscription.expert_id, seen_at__gte=live_since()).exists():
        return False
    once = claim_once(key)
    if once is None:
        return False
    try:
        with translation.override(supported(subscription.expert.language) or settings.LANGUAGE_CODE):
            data = push.payload(kind=kind, brand_name=brand.name, count=count)
        push.send(subscription.info(), data)
    except push.Gone:
        subscription.delete()
        once.delete()
        logger.info("push subscription %s is gone; deleted", subscription_id)
        return False
    except push.Refused as exc:
        once.delete()
        logger.warning("push %s refused by the push service (HTTP %s); not retried", key, exc)
        return False
    except push.Uncertain as exc:
        once.state = once.State.UNCERTAIN
        once.save(update_fields=["state"])
        logger.warning("push %s: no answer from the push service (%s); not sent again", key, exc)
        return False
    except BaseException:
        once.delete()  # nothing reached the push service: the retry sends it
        raise
    once.state = once.State.SENT
    once.save(update_fields=["state"])
    return True


# --- the e-mail digest -----------------------------------------------------------------------

def _waiting_counts(expert: ExpertProfile) -> list[tuple[str, int, bool]]:
    """[(brand name, questions waiting, any new since the last digest)] for the expert's brands."""
    waiting = Conversation.objects.filter(status=Conversation.Status.WAITING, brand__experts=expert).exclude(
        excluded_experts=expert).values_list("brand__name", "created_at")
    counts: dict = {}
    for name, created_at in waiting:
        count, new = counts.get(name, (0, False))
        counts[name] = (count + 1, new or expert.digest_sent_at is None or created_at > expert.digest_sent_at)
    return sorted((name, count, new) for name, (count, new) in counts.items())


def digest_sweep(now=None) -> int:
    """Queue the digest of each expert who switched it on, was not mailed within CHAT_EXPERT_DIGEST_MINUTES,
    and has a question new since their last one (a sweep); return how many."""
    now = now or timezone.now()
    last_due = now - timedelta(minutes=settings.CHAT_EXPERT_DIGEST_MINUTES)
    live = ExpertConnection.objects.filter(expert=OuterRef("pk"), seen_at__gte=live_since())
    candidates = (
        ExpertProfile.objects.filter(digest_enabled=True, is_suspended=False, user__is_active=True)
        .exclude(user__email="")
        .exclude(digest_sent_at__gt=last_due)
        .exclude(Exists(live))
    )
    queued = 0
    for expert in candidates:
        if not any(new for _, _, new in _waiting_counts(expert)):
            continue
        with transaction.atomic():
            # Conditional: the window moves once, and the task's key is that window's.
            if ExpertProfile.objects.filter(pk=expert.pk, digest_sent_at=expert.digest_sent_at).update(digest_sent_at=now):
                enqueue(email_digest, expert_id=expert.pk, key=f"experts.digest:{expert.pk}:{now.timestamp():.6f}")
                queued += 1
    return queued


def digest_text(expert: ExpertProfile, counts) -> tuple[str, str]:
    """The digest's subject and plain-text body, in the expert's profile language (else the default)."""
    with translation.override(supported(expert.language) or settings.LANGUAGE_CODE):
        lines = [ngettext("%(count)s question waiting on %(brand)s", "%(count)s questions waiting on %(brand)s", count)
                 % {"count": count, "brand": name} for name, count, _ in counts]
        base = settings.CHAT_PUBLIC_URL
        body = (
            gettext("Hello %(name)s,") % {"name": expert.display_name} + "\n\n" + "\n".join(lines) + "\n\n"
            + gettext("Answer them from your dashboard: %(url)s") % {"url": f"{base}{reverse('expert-dashboard')}"} + "\n\n"
            + gettext("You get this e-mail because you switched on the digest. Switch it off on your profile page: %(url)s")
            % {"url": f"{base}{reverse('expert-profile')}"} + "\n"
        )
        subject = lines[0] if len(lines) == 1 else gettext("%(count)s brands have questions waiting") % {"count": len(lines)}
    return subject, body


@task()
def email_digest(*, expert_id: int, key: str) -> bool:
    """E-mail one expert their digest, once per ``key``; nothing if they switched it off or nothing waits."""
    expert = ExpertProfile.objects.select_related("user").filter(pk=expert_id, digest_enabled=True).first()
    if expert is None or not expert.user.email:
        return False
    counts = _waiting_counts(expert)
    if not counts:
        return False
    subject, body = digest_text(expert, counts)
    return send_mail_once(key=key, subject=subject, body=body, recipients=[expert.user.email])


@task()
def email_invitation(*, invitation_id: int, nonce: str) -> bool:
    """E-mail an invitation's link, once per link (a resend is a new nonce, so a new e-mail)."""
    from django.template.loader import render_to_string
    from django.utils.translation import gettext

    from .invitations import link_for
    from .models import ExpertInvitation

    invitation = ExpertInvitation.objects.select_related("brand").filter(
        pk=invitation_id, nonce=nonce, status=ExpertInvitation.Status.PENDING).first()
    if invitation is None:  # revoked, accepted or sent again meanwhile: this link would not work
        return False
    context = {"invitation": invitation, "brand": invitation.brand.name, "link": link_for(invitation),
               "days": settings.CHAT_INVITATION_DAYS}
    return send_mail_once(
        key=f"experts.invitation:{invitation.pk}:{nonce}",
        subject=gettext("You are invited to answer %(brand)s's visitors") % {"brand": invitation.brand.name},
        body=render_to_string("experts/email/invitation.txt", context),
        recipients=[invitation.email],
    )
