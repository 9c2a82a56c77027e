"""The expert's pages: dashboard, past conversations, profile and the community panel.

Each view parses the request, calls one selector or service, and renders.
"""

import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from django.conf import settings

from chatplatform import errors
from chatplatform.errors import ChatError
from chatplatform.i18n import supported

from . import push, selectors, services
from .forms import CommunityPostForm, CommunityReplyForm, ProfileForm


def expert_required(view):
    """Signed in, with an expert profile that is not suspended; sets ``request.expert``."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        expert = selectors.expert_for_user(request.user)
        if expert is None or expert.is_suspended:
            raise PermissionDenied(_("Only community experts can open this page."))
        request.expert = expert
        # The profile's language wins over the browser's (LocaleMiddleware's), for the page and its scripts.
        language = supported(expert.language)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        try:
            return view(request, *args, **kwargs)
        except ChatError as exc:
            if exc.code == errors.NOT_FOUND:
                raise Http404(exc.detail) from None
            raise

    return wrapped


def _topic_names(expert) -> dict:
    """{brand slug: {topic slug: topic name}} for the expert's brands: the Conversation
    object carries only the topic's slug, and the dashboard shows its name."""
    names: dict = {}
    for topic in selectors.brand_topics(expert):
        names.setdefault(topic.brand.slug, {})[topic.slug] = topic.name
    return names


@expert_required
def dashboard(request):
    return render(request, "experts/dashboard.html", {
        "expert": request.expert,
        # No keys, no "Notify me" (and the push sweep sends nothing).
        "vapid_public_key": settings.VAPID_PUBLIC_KEY if push.enabled() else "",
        "canned_replies": selectors.canned_replies(request.expert),
        "topic_names": _topic_names(request.expert),
        # What "Warn" posts, per brand, shown in its confirmation.
        "politeness_reminders": dict(request.expert.brands.values_list("slug", "politeness_reminder")),
    })


@expert_required
def past(request):
    query = request.GET.get("q", "")[:200]
    return render(request, "experts/past.html", {
        "query": query,
        "conversations": selectors.past_conversations(expert=request.expert, query=query),
    })


def _bar_chart(per_day, *, width=420, height=120, gap=4) -> dict:
    """Geometry of the conversations-per-day chart, drawn as inline SVG by the template."""
    top = max([count for _, count in per_day] + [1])
    bar = (width - gap * (len(per_day) - 1)) / len(per_day)
    bars = []
    for i, (day, count) in enumerate(per_day):
        h = round((height - 16) * count / top, 1)
        bars.append({"x": round(i * (bar + gap), 1), "y": round(height - 16 - h, 1), "height": h,
                     "width": round(bar, 1), "count": count, "label": day.strftime("%d %b"),
                     "short": day.strftime("%d")})
    return {"width": width, "height": height, "bars": bars, "axis_y": height - 16, "top": top}


@expert_required
@require_http_methods(["GET", "POST"])
def profile(request):
    expert = request.expert
    topics = selectors.brand_topics(expert)
    if request.method == "POST":
        form = ProfileForm(request.POST, topics=topics)
        if form.is_valid():
            try:
                services.update_profile(
                    expert=expert, display_name=form.cleaned_data["display_name"], bio=form.cleaned_data["bio"],
                    avatar_url=form.cleaned_data["avatar_url"],
                    topic_ids=[t.pk for t in form.cleaned_data["topics"]], language=form.cleaned_data["language"],
                )
                services.set_digest(expert=expert, enabled=form.cleaned_data["digest_enabled"])
            except ChatError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("expert-profile")
    else:
        form = ProfileForm(topics=topics, initial={
            "display_name": expert.display_name, "bio": expert.bio, "avatar_url": expert.avatar_url,
            "topics": list(expert.topics.all()), "digest_enabled": expert.digest_enabled, "language": expert.language,
        })
    stats = selectors.expert_statistics(expert)
    return render(request, "experts/profile.html", {
        "form": form, "expert": expert, "stats": stats, "chart": _bar_chart(stats["per_day"]),
    })


@expert_required
def community(request):
    query = request.GET.get("q", "")[:200]
    return render(request, "experts/community.html", {
        "query": query, "posts": selectors.community_posts(query=query),
    })


@expert_required
@require_http_methods(["GET", "POST"])
def community_new(request):
    if request.method == "POST":
        form = CommunityPostForm(request.POST)
        if form.is_valid():
            post = services.create_community_post(
                author=request.expert, title=form.cleaned_data["title"], body=form.cleaned_data["body"],
                source_conversation_id=form.cleaned_data["source_conversation"] or None,
            )
            return redirect("community-post", post_id=post.pk)
    else:
        source = request.GET.get("from")
        form = CommunityPostForm(initial=selectors.share_draft(expert=request.expert, conversation_id=source) if source else None)
    return render(request, "experts/community_new.html", {"form": form, "sharing": bool(form["source_conversation"].value())})


@expert_required
@require_http_methods(["GET", "POST"])
def community_post(request, post_id):
    form = CommunityReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.add_community_reply(author=request.expert, post_id=post_id, body=form.cleaned_data["body"])
        return redirect("community-post", post_id=post_id)
    return render(request, "experts/community_post.html", {
        "post": selectors.community_post(post_id=post_id), "form": form,
    })


# --- Web Push subscriptions (docs/protocol.md, "HTTP endpoints") -------------------------------

MAX_PUSH_BODY_BYTES = 4096


def _json_error(code: str, detail: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _json_object(request) -> dict | None:
    if len(request.body) > MAX_PUSH_BODY_BYTES:
        return None
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@expert_required
@require_POST
def push_subscribe(request):
    """Keep the browser's PushSubscription (its toJSON()) for this expert: session and CSRF token required."""
    data = _json_object(request)
    keys = data.get("keys") if data else None
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in (data.get("endpoint"), keys.get("p256dh"), keys.get("auth"))):
        return _json_error(errors.INVALID_FRAME, 'Send {"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}.')
    try:
        services.subscribe_push(expert=request.expert, endpoint=data["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"])
    except ChatError as exc:
        return _json_error(exc.code, exc.detail, status=404 if exc.code == errors.NOT_FOUND else 400)
    return JsonResponse({"subscribed": True}, status=201)


@expert_required
@require_POST
def push_unsubscribe(request):
    """Forget this browser's subscription ({"endpoint": …}); answers the same whether it was kept or not."""
    data = _json_object(request)
    if not data or not isinstance(data.get("endpoint"), str):
        return _json_error(errors.INVALID_FRAME, 'Send {"endpoint": "https://…"}.')
    services.unsubscribe_push(expert=request.expert, endpoint=data["endpoint"])
    return JsonResponse({"subscribed": False})
