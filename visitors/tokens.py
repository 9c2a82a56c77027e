"""Visitor tokens: secrets never stored as they are.

The keyed hashes of network addresses live in chatplatform/addresses.py (every app
keys its limits and blocks by them); they are named here too for the visitor code that reads them.
"""

import hashlib
import secrets

from chatplatform.addresses import address_hashes, address_key, address_scope, hash_address  # noqa: F401 (re-exported)


def new_token() -> str:
    """A fresh visitor token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a token. The token has 256 bits of entropy, so no salt or key is needed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
