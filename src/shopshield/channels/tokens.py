"""One-click report tokens: random, stored only as a digest, and what was checked sealed with the
customer's data key (``keys.envelope``, as the vault seals a field).

The token is the only thing given out. Its digest finds the row; the sealed bytes, bound by their
associated data to this token and this customer, say what the customer checked. A database
reader learns neither a usable token nor what a customer typed (which may be their own number
where the caller's belonged), and erasing the customer shreds the sealed bytes with their key.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.keys import envelope

# 32 random bytes: 256 bits, unguessable; URL-safe base64 without padding is 43 characters.
TOKEN_BYTES: Final = 32
TOKEN_PATTERN: Final = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 (a shape, not a secret)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """The token's SHA-256 in hex: what the table keeps. A token is random, so no salt is needed."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _aad(customer_id: str, token_digest: str) -> bytes:
    return f"contact_report_token|{customer_id}|{token_digest}".encode()


def seal_checked(data_key: AESGCM, *, customer_id: str, token_digest: str, checked: dict[str, Any]) -> bytes:
    return envelope.seal(data_key, orjson.dumps(checked), _aad(customer_id, token_digest))


def open_checked(data_key: AESGCM, *, customer_id: str, token_digest: str, sealed: bytes) -> dict[str, Any]:
    """What ``seal_checked`` sealed; ``envelope.DecryptionError`` (an instance fault) when it does not
    authenticate."""
    opened: dict[str, Any] = orjson.loads(envelope.open_sealed(data_key, sealed, _aad(customer_id, token_digest)))
    return opened
