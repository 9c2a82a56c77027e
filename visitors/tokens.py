"""Visitor tokens and keyed hashes of network addresses: secrets never stored as they are."""

import hashlib
import hmac
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


def _hmac(key: bytes, address: str) -> str:
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()


def hash_address(address: str | None) -> str:
    """Keyed hash (HMAC-SHA256) of a network address; empty when the address is unknown."""
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
