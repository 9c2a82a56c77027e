"""The client's network address for a socket, from the peer or one configured proxy header.

django-ipware reads a Django request's META; a websocket has an ASGI scope, so
this small reader applies the same rule: the header is used only when the
operator names it (CLIENT_ADDRESS_HEADER), never trusted by default, and the
address taken is the one CLIENT_ADDRESS_PROXY_COUNT places from the right (the
one our own proxy saw), so a client cannot choose its address by sending the
header itself.
"""

import ipaddress

from django.conf import settings

from .origins import header


def client_address(scope) -> str | None:
    name = settings.CLIENT_ADDRESS_HEADER
    value = header(scope, name.lower().encode("latin-1")) if name else None
    client = scope.get("client")
    return _pick(value, client[0] if client else None)


def request_address(request) -> str | None:
    """The same rule for a Django request (the sign-in page)."""
    name = settings.CLIENT_ADDRESS_HEADER
    value = request.META.get("HTTP_" + name.upper().replace("-", "_")) if name else None
    return _pick(value, request.META.get("REMOTE_ADDR"))


def request_address_key(request) -> str:
    """What django-axes counts failed sign-ins by: the keyed hash of the address, never the address."""
    from visitors.tokens import hash_address  # the one keyed hash; imported late, visitors builds on chatplatform

    return hash_address(request_address(request)) or "unknown"


def _pick(value: str | None, peer: str | None) -> str | None:
    """The address CLIENT_ADDRESS_PROXY_COUNT places from the right of the header, else the peer's."""
    if value:
        hops = [part.strip() for part in value.split(",") if part.strip()]
        count = max(1, settings.CLIENT_ADDRESS_PROXY_COUNT)
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass
    return peer
