"""Visitor tokens and keyed hashes of network addresses: secrets never stored as they are."""

import hashlib
import hmac
import ipaddress
import secrets

from django.conf import settings


def new_token() -> str:
    """A fresh visitor token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a token. The token has 256 bits of entropy, so no salt or key is needed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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
