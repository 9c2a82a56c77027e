"""Which web origins may open which socket (docs/protocol.md, "Origin rules").

A page of our own is recognised as Django's CSRF check recognises one
(``CsrfViewMiddleware._origin_verified``): its Origin must be exactly
``scheme://host[:port]`` of the request itself, the Host header the socket was
opened with (a host in ALLOWED_HOSTS) and the scheme of the connection
(``wss``, or ``X-Forwarded-Proto: https`` where SECURE_PROXY_SSL_HEADER says
the proxy sets it). A listed hostname on another port or scheme is another
origin, maybe another program on the same machine, and is refused.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case (default port left out), or None for anything that is not one."""
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
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 keeps its brackets
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}".lower()


def is_secure(scope) -> bool:
    """Whether the socket came over TLS, by the same rule as Django's ``request.is_secure()``."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1"))
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def own_origin(scope) -> str | None:
    """The origin of our own pages on the host this socket was opened on, or None (no Host, or one not allowed)."""
    domain, port = split_domain_port(header(scope, b"host") or "")
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if is_secure(scope) else "http"
    return normalise_origin(f"{scheme}://{domain}:{port}" if port else f"{scheme}://{domain}")


def is_own_origin(origin: str | None, scope) -> bool:
    """Whether ``origin`` is exactly the origin of the page that served this socket's host."""
    if not origin:
        return False
    normalised = normalise_origin(origin)
    return normalised is not None and normalised == own_origin(scope)


def visitor_origin_allowed(origin: str | None, brand_origins: list[str], *, scope=None) -> bool:
    """Our own origin (see ``is_own_origin``) and the brand's listed origins (exact scheme, host and port).

    A socket without an Origin header is refused too: docs/protocol.md lets in only
    pages of our own hosts and the brand's pages, and a client that names no
    page is neither (a load generator or a native app sends the Origin of the
    brand it speaks for). ``null``, malformed and unlisted origins are refused.
    """
    if not origin:
        return False
    normalised = normalise_origin(origin)
    if normalised is None:
        return False
    allowed = {o for o in (normalise_origin(b) for b in brand_origins) if o}
    if normalised in allowed:
        return True
    if scope is None:
        # Transitional, for a caller that does not pass its scope yet: the host
        # alone, any scheme and port (the check this module used to make).
        return validate_host(urlsplit(normalised).hostname, settings.ALLOWED_HOSTS)
    return is_own_origin(origin, scope)


class OwnOriginValidator:
    """ASGI middleware for the session-authenticated sockets: only pages of our own origin.

    Channels' AllowedHostsOriginValidator lets a malformed Origin (``http://[::1``,
    a port out of range) raise inside the handshake, a 500 and a traceback, and
    ignores the port; this one parses with ``normalise_origin``, compares with
    the socket's own scheme, Host and port, and refuses anything else, a missing
    or ``null`` Origin included, before accept (HTTP 403).
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if is_own_origin(header(scope, b"origin"), scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
