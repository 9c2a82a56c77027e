"""The client's network address for a socket, from the peer or one configured proxy header.

django-ipware reads a Django request's META; a websocket has an ASGI scope, so
this small reader applies the same rule: the header is used only when the
operator names it (CLIENT_ADDRESS_HEADER), never trusted by default, and the
address taken is the one CLIENT_ADDRESS_PROXY_COUNT places from the right (the
one our own proxy saw), so a client cannot choose its address by sending the
header itself.
"""

import hashlib
import hmac
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


# --- keyed hashes: the address itself is never stored ------------------------------------

def address_key() -> bytes:
    key = settings.ADDRESS_HASH_KEY or ("address-hash:" + settings.SECRET_KEY)
    return key.encode()


def address_scope(address: str) -> str:
    """What one client is, for blocks and limits: an IPv6 address's network of CHAT_IPV6_PREFIX bits.

    A phone (and any IPv6 host with privacy extensions) takes a new address within
    its /64 whenever it likes, so a block or a limit on the single address is left
    by reconnecting. IPv4, and IPv4 written as IPv6 (``::ffff:192.0.2.1``), stays the
    single address. Anything that is not an address is taken as it is.
    """
    text = address.strip().lower()
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])  # a zone ("fe80::1%eth0") names no other client
    except ValueError:
        return text
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 4:
        return str(parsed)
    prefix = min(128, max(0, int(settings.CHAT_IPV6_PREFIX)))
    if prefix == 128:
        return str(parsed)
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _hmac(key: bytes, address: str) -> str:
    return hmac.new(key, address_scope(address).encode(), hashlib.sha256).hexdigest()


def hash_address(address: str | None) -> str:
    """Keyed hash (HMAC-SHA256) of a network address (an IPv6 one's network, ``address_scope``); empty when unknown."""
    if not address:
        return ""
    return _hmac(address_key(), address)


def address_hashes(address: str | None) -> tuple[str, ...]:
    """The address's hash under the current key, then under each of ADDRESS_HASH_PREVIOUS_KEYS.

    During a key rotation, what was stored under an old key (a block by address)
    still matches; new rows get only the current hash. Empty when the address is unknown.
    """
    if not address:
        return ()
    return (hash_address(address), *(_hmac(key.encode(), address) for key in settings.ADDRESS_HASH_PREVIOUS_KEYS if key))
