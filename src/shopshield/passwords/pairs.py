"""Leaked username+password pairs kept only as keyed hashes.

A pair becomes HMAC-SHA256(pairs key, normalised username || SHA-1 of the password), cut to 16
bytes. Without the key nobody can test a guess against the stored hashes, and the key is not the
vault's blind-index key itself but one derived from it with HKDF under its own label, so a pair
hash can never be compared with a blind index (decision 0011).

The store sends the SHA-1 of the password a customer typed; the SHA-1 of each leaked password is
computed here while reading the breach list and then dropped with the password.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shopshield.core.normalize import normalize_username
from shopshield.passwords.formats import BLOCK_BYTES, Skipped, SourceError
from shopshield.passwords.store import PAIRS, Records

DIGEST_BYTES: Final = 16
KEY_BYTES: Final = 32
# HKDF's salt and info: the derived key is this domain's alone (the blind index uses the raw key).
_KDF_SALT: Final = b"shopshield/passwords"
_KDF_INFO: Final = b"shopshield/leaked-pairs/v1"
_SHA1_HEX: Final = re.compile(r"[0-9A-Fa-f]{40}")


def derive_pairs_key(blind_index_key: bytes) -> bytes:
    """The pairs' HMAC key, derived from the key file's blind-index key material."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_KDF_SALT, info=_KDF_INFO)
    return kdf.derive(blind_index_key)


def parse_sha1_hex(sha1_hex: str) -> bytes:
    """The 20 bytes of a SHA-1 given as 40 hex digits (either case); ValueError otherwise."""
    if not _SHA1_HEX.fullmatch(sha1_hex):
        raise ValueError("expected the SHA-1 as 40 hexadecimal digits")
    return bytes.fromhex(sha1_hex)


class PairHasher:
    """Keyed hashes of pairs; one pre-keyed HMAC is copied per pair instead of re-keying each time."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the pairs key must be {KEY_BYTES} bytes")
        self._keyed = hmac.HMAC(key, hashes.SHA256())

    def digest(self, username: str, password_sha1: bytes) -> bytes:
        """Of a username as given (normalised here) and the password's 20-byte SHA-1."""
        mac = self._keyed.copy()
        mac.update(normalize_username(username).encode())
        # The SHA-1 is fixed-length and last, so no separator is needed for the message to be unambiguous.
        mac.update(password_sha1)
        return mac.finalize()[:DIGEST_BYTES]


def digest_words(digest: bytes) -> tuple[int, int]:
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big")


def digests_to_records(digests: bytes) -> Records:
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST_BYTES)
    records = np.empty(len(raw), dtype=PAIRS.dtype)
    records["hi"] = raw[:, :8].copy().view(">u8").ravel()
    records["lo"] = raw[:, 8:].copy().view(">u8").ravel()
    return records


_PAIR_RULE: Final = "expected username:password (UTF-8, split at the first ':', both parts non-empty)"


def read_pairs(path: Path, hasher: PairHasher, *, skipped: Skipped | None = None) -> Iterator[tuple[Records, int]]:
    """The keyed hashes of a breach list's ``username:password`` lines, a block at a time, each
    with the number of bytes it covers. A bad line raises :class:`SourceError` naming its number
    (never its content), or is counted in ``skipped``."""
    sha1 = hashlib.sha1
    line_number = 0
    rest = b""
    with path.open("rb") as handle:
        first = True
        while True:
            data = handle.read(BLOCK_BYTES)
            at_end = not data
            if first:
                data = data.removeprefix(b"\xef\xbb\xbf")
                first = False
            data = rest + data
            if at_end:
                lines, rest = ([data] if data else []), b""
            else:
                cut = data.rfind(b"\n") + 1
                lines, rest = data[:cut].split(b"\n")[:-1], data[cut:]
            out: list[bytes] = []
            bad: list[int] = []
            for raw in lines:
                line_number += 1
                line = raw.removesuffix(b"\r")
                if not line:
                    continue
                name, colon, password = line.partition(b":")
                try:
                    username = name.decode("utf-8")
                    password.decode("utf-8")
                except UnicodeDecodeError:
                    colon = b""
                if not colon or not password or not username.strip():
                    bad.append(line_number)
                    continue
                out.append(hasher.digest(username, sha1(password).digest()))
            if bad:
                if skipped is None:
                    raise SourceError(path, _PAIR_RULE, bad[0])
                skipped.add(path, bad)
            if out or lines:
                yield digests_to_records(b"".join(out)), sum(len(x) + 1 for x in lines)
            if at_end:
                break
