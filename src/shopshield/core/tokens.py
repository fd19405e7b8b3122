"""Session ids, one-time link tokens and CSRF tokens for the pages people open in a browser (the
staff console and the customers' pages): made by ``secrets``, stored only as their SHA-256 digest,
compared in constant time. One home, so both kinds of session follow the same rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

# ``secrets.token_urlsafe(32)``: 256 random bits, 43 URL-safe characters.
TOKEN_BYTES: Final = 32
TOKEN_LENGTH: Final = 43
# Longer than any token this module makes: a larger value is refused before it is compared.
_MAX_CSRF: Final = 100


def new_token() -> str:
    """A session id or a link token: the caller hands it out and stores only ``digest(token)``."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_secret() -> bytes:
    """A session's CSRF secret, kept with the session row."""
    return secrets.token_bytes(TOKEN_BYTES)


def digest(token: str) -> bytes:
    """What is stored of a token: a database reader cannot turn it back into a working cookie."""
    return hashlib.sha256(token.encode()).digest()


def csrf_text(secret: bytes) -> str:
    """The CSRF secret as forms carry it."""
    return base64.urlsafe_b64encode(secret).decode().rstrip("=")


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a form's token is the session's, compared in constant time."""
    if not given or len(given) > _MAX_CSRF:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def well_formed(token: str | None) -> bool:
    """Whether a cookie or link token could be one of ours, before any database read."""
    return token is not None and len(token) == TOKEN_LENGTH and token.isascii()
