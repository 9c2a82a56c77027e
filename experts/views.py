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
from chatplatform.error_texts import localised
from chatplatform.errors import ChatError
from chatplatform.i18n import supported

from . import canned, push, selectors, services, transfer
from .forms import CannedReplyForm, CommunityPostForm, CommunityReplyForm, ProfileForm


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
        # The brands' and the expert's own replies, as data (experts/canned.py): the "/" picker's list.
        "canned_replies": canned.replies_for(request.expert),
        # Per brand: the guidance side note, the phrases that show it, and the report options (docs/faces.md).
        "guidance": {
            slug: {"text": text, "phrases": [p.strip().lower() for p in phrases.splitlines() if p.strip()],
                   "report_options": report_options}
            for slug, text, phrases, report_options in request.expert.brands.values_list(
                "slug", "expert_guidance", "bad_experience_phrases", "report_options")
        },
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
                form.add_error(None, localised(exc.detail))
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
    space = request.GET.get("space", "")[:60]
    return render(request, "experts/community.html", {
        "query": query, "space": space, "spaces": selectors.community_spaces(request.expert),
        "posts": selectors.community_posts(expert=request.expert, query=query, space=space),
    })


@expert_required
@require_http_methods(["GET", "POST"])
def community_new(request):
    spaces = selectors.community_spaces(request.expert)
    if request.method == "POST":
        form = CommunityPostForm(request.POST, spaces=spaces)
        if form.is_valid():
            try:
                post = services.create_community_post(
                    author=request.expert, title=form.cleaned_data["title"], body=form.cleaned_data["body"],
                    space=form.cleaned_data["space"] or None, source_conversation_id=form.cleaned_data["source_conversation"] or None,
                )
            except ChatError as exc:
                if exc.code == errors.NOT_FOUND:
                    raise
                form.add_error(None, localised(exc.detail))
            else:
                return redirect("community-post", post_id=post.pk)
    else:
        source = request.GET.get("from")
        initial = selectors.share_draft(expert=request.expert, conversation_id=source) if source else {}
        if request.GET.get("space") in dict(spaces):
            initial["space"] = request.GET["space"]
        form = CommunityPostForm(initial=initial, spaces=spaces)
    return render(request, "experts/community_new.html", {
        "form": form, "sharing": bool(form["source_conversation"].value()), "spaces": spaces,
    })


@expert_required
@require_http_methods(["GET", "POST"])
def community_post(request, post_id):
    post = selectors.community_post(expert=request.expert, post_id=post_id)
    form = CommunityReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.add_community_reply(author=request.expert, post_id=post.pk, body=form.cleaned_data["body"])
        return redirect("community-post", post_id=post.pk)
    return render(request, "experts/community_post.html", {"post": post, "form": form})


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
        return _json_error(exc.code, localised(exc.detail), status=404 if exc.code == errors.NOT_FOUND else 400)
    return JsonResponse({"subscribed": True}, status=201)


# --- the expert's own canned replies (experts/canned.py) ------------------------------------------


def _replies_page(request, *, form=None, editing=None, edit_form=None, status=200):
    return render(request, "experts/replies.html", {
        "form": form or CannedReplyForm(),
        "replies": canned.own_replies(request.expert),
        "editing": editing,
        "edit_form": edit_form,
    }, status=status)


def _save_reply(request, form, save) -> bool:
    """Run ``save`` on a valid form; a refusal of the service goes on the form. Return whether it saved."""
    if not form.is_valid():
        return False
    try:
        save(form.cleaned_data["title"], form.cleaned_data["text"])
    except ChatError as exc:
        form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, localised(exc.detail))
        return False
    return True


@expert_required
@require_http_methods(["GET", "POST"])
def replies(request):
    """The expert's own replies: the list, and a new one (session and CSRF token, as every form here)."""
    if request.method == "GET":
        return _replies_page(request)
    form = CannedReplyForm(request.POST)
    if _save_reply(request, form, lambda title, text: canned.create_own_reply(expert=request.expert, title=title, text=text)):
        messages.success(request, _("Your reply is saved."))
        return redirect("expert-replies")
    return _replies_page(request, form=form, status=400)


@expert_required
@require_POST
def reply_edit(request, reply_id):
    reply = canned.access_own_reply(expert=request.expert, reply_id=reply_id)
    form = CannedReplyForm(request.POST)
    if _save_reply(request, form, lambda title, text: canned.update_own_reply(
            expert=request.expert, reply_id=reply.pk, title=title, text=text)):
        messages.success(request, _("Your reply is saved."))
        return redirect("expert-replies")
    return _replies_page(request, editing=reply.pk, edit_form=form, status=400)


@expert_required
@require_POST
def reply_delete(request, reply_id):
    canned.delete_own_reply(expert=request.expert, reply_id=reply_id)
    messages.success(request, _("Your reply is deleted."))
    return redirect("expert-replies")


# --- transfer: the colleagues to hand a conversation to (docs/protocol.md, "HTTP endpoints") ----------


@expert_required
@require_http_methods(["GET"])
def colleagues(request):
    """The online colleagues of a conversation's brand: ?conversation=<id>, one of the expert's active ones."""
    try:
        found = transfer.transfer_candidates(expert=request.expert, conversation_id=request.GET.get("conversation", "")[:64])
    except ChatError as exc:
        return _json_error(exc.code, localised(exc.detail), status=404 if exc.code == errors.NOT_FOUND else 403)
    return JsonResponse({"colleagues": found})


@expert_required
@require_POST
def push_unsubscribe(request):
    """Forget this browser's subscription ({"endpoint": …}); answers the same whether it was kept or not."""
    data = _json_object(request)
    if not data or not isinstance(data.get("endpoint"), str):
        return _json_error(errors.INVALID_FRAME, 'Send {"endpoint": "https://…"}.')
    services.unsubscribe_push(expert=request.expert, endpoint=data["endpoint"])
    return JsonResponse({"subscribed": False})
