"""Platform-wide HTTP views."""

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        return "error"


# A health check that hangs is worse than one that fails: the load balancer waits on it.
HEALTH_TIMEOUT_SECONDS = 3


async def _layer_round_trip() -> None:
    """Send an event to a fresh channel and receive it back, on one event loop, within the timeout."""
    layer = get_channel_layer()
    async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
        channel = await layer.new_channel()
        try:
            nonce = uuid.uuid4().hex
            await layer.send(channel, {"type": "health.check", "nonce": nonce})
            if (await layer.receive(channel)).get("nonce") != nonce:
                raise RuntimeError("the channel layer returned another event")
        finally:
            forget = getattr(layer, "forget_channel", None)  # the pub/sub layer subscribed it: let it go
            if forget is not None:
                await forget(channel)


def _check_channel_layer() -> str:
    try:
        async_to_sync(_layer_round_trip)()
        return "ok"
    except Exception:
        return "error"


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the channel layer answer, 503 naming the part that does not."""
    report = {"database": _check_database(), "channel_layer": _check_channel_layer()}
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse({"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503)


@require_GET
def home(request):
    """The site's root: the demo shop in development, otherwise a short page pointing to the sign-in."""
    if settings.DEBUG:
        return redirect("demo")
    return render(request, "home.html")


@require_GET
def favicon(request):
    """Browsers ask every site for /favicon.ico (the admin's pages too): the icon, not a 404 in the log."""
    return redirect(static("chat/favicon.ico"), permanent=True)
