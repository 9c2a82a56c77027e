"""Which web origins may open which socket (PROTOCOL.md, "Origin")."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case, or None for anything that is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    netloc = parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
    return f"{parts.scheme}://{netloc}".lower()


def is_own_host(origin: str) -> bool:
    normalised = normalise_origin(origin)
    if normalised is None:
        return False
    hostname = urlsplit(normalised).hostname
    return validate_host(hostname, settings.ALLOWED_HOSTS)


def visitor_origin_allowed(origin: str | None, brand_origins: list[str]) -> bool:
    """The server's own hosts and the brand's listed origins (exact scheme, host and port).

    A socket without an Origin header is not a browser page (a native app, a
    load generator): no cookie rides on it, so there is nothing to hijack, and
    it is let through. ``null``, malformed and unlisted origins are refused.
    """
    if origin is None:
        return True
    normalised = normalise_origin(origin)
    if normalised is None:
        return False
    allowed = {o for o in (normalise_origin(b) for b in brand_origins) if o}
    return normalised in allowed or is_own_host(origin)


class OwnOriginValidator:
    """ASGI middleware for the session-authenticated sockets: only pages of our own hosts.

    Channels' AllowedHostsOriginValidator lets a malformed Origin (``http://[::1``,
    a port out of range) raise inside the handshake, a 500 and a traceback; this
    one parses with ``normalise_origin`` and refuses anything it cannot read, a
    missing or ``null`` Origin included, before accept (HTTP 403).
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if is_own_host(header(scope, b"origin") or ""):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
