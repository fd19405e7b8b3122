"""Passwords of people (console logins), hashed with scrypt from pyca/cryptography.

API tokens are 256-bit random and hashed with SHA-256 (``service.hash_token``); a password a
person chose is guessable, so it is stored as a memory-hard scrypt hash under a random salt
(decision 0033). The text kept is ``scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`` (base64 without
padding), so a stored hash carries its own parameters and the defaults can grow without making
old hashes unreadable. Checking one derives again and compares in constant time
(``Scrypt.verify``).
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from shopshield.core.errors import InvalidInput

SCHEME: Final = "scrypt"
# n = 2**15, r = 8, p = 1: 32 MiB and about 0.1 s per hash on one core (RFC 7914's interactive
# range, OWASP's minimum is n = 2**17 with r = 8 at p = 1 for servers with memory to spare).
LOG2_N: Final = 15
R: Final = 8
P: Final = 1
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 1024
# Bounds on what a stored hash may ask for, so a tampered row cannot make a login take minutes.
_MAX_LOG2_N: Final = 20


@dataclass(frozen=True, slots=True)
class Params:
    log2_n: int = LOG2_N
    r: int = R
    p: int = P


def check_password(password: str) -> None:
    """``InvalidInput`` unless ``password`` is long enough (and not absurdly long); never echoes it."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password: must be at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password: must be at most {MAX_LENGTH} characters", field="password")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _kdf(salt: bytes, params: Params) -> Scrypt:
    return Scrypt(salt=salt, length=HASH_BYTES, n=2**params.log2_n, r=params.r, p=params.p)


def hash_password(password: str, params: Params = Params()) -> str:
    """The text to store for ``password`` (checked first with ``check_password``)."""
    check_password(password)
    salt = os.urandom(SALT_BYTES)
    derived = _kdf(salt, params).derive(password.encode())
    return f"{SCHEME}${params.log2_n}${params.r}${params.p}${_b64(salt)}${_b64(derived)}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed stored text."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        params = Params(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not (10 <= params.log2_n <= _MAX_LOG2_N and 1 <= params.r <= 32 and 1 <= params.p <= 16):
        return False
    if len(password) > MAX_LENGTH or len(expected) != HASH_BYTES:
        return False
    try:
        # Derives again and compares in constant time.
        _kdf(salt, params).verify(password.encode(), expected)
    except InvalidKey:
        return False
    return True


@functools.cache
def _dummy() -> str:
    # Checked against when the name is unknown, so an unknown name costs the time of a wrong password.
    return hash_password("x" * MIN_LENGTH)


def waste_time(password: str) -> None:
    """Spend one verification's time and learn nothing: used for unknown or password-less principals."""
    verify_password(_dummy(), password)
