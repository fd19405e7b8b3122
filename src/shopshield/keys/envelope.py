"""Field encryption with AES-256-GCM and keyed blind indexes, built on pyca/cryptography.

Every ciphertext is bound by associated data to its record and field, so a ciphertext copied to
another row or another column fails authentication instead of decrypting to someone else's data.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.core.errors import InstanceFault

# A leading format byte lets a later version change nonce size or algorithm without guessing.
FIELD_FORMAT = 1
NONCE_BYTES = 12
KEY_BYTES = 32
BLIND_INDEX_BYTES = 16


class DecryptionError(InstanceFault):
    """A ciphertext did not authenticate: wrong key, wrong record or field, or tampered bytes."""


def field_aad(record: str, field: str) -> bytes:
    return f"shopshield/field/v1|{record}|{field}".encode()


def data_key_aad(key_id: str, master_version: int) -> bytes:
    return f"shopshield/data-key/v1|{key_id}|{master_version}".encode()


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    # Random 96-bit nonces are safe here: each data key encrypts one customer's handful of fields.
    nonce = os.urandom(NONCE_BYTES)
    return bytes((FIELD_FORMAT,)) + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != FIELD_FORMAT:
        raise DecryptionError("ciphertext has an unknown format")
    try:
        return aead.decrypt(sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext failed authentication") from exc


def blind_index(key: bytes, field: str, normalized: str) -> bytes:
    """Keyed equality index: the same value gives the same digest, nothing else can be learnt.

    The field name is mixed in so equal strings in different fields (a mobile used as a username,
    say) do not produce linkable digests.
    """
    mac = hmac.new(key, field.encode() + b"\x00" + normalized.encode(), hashlib.sha256)
    return mac.digest()[:BLIND_INDEX_BYTES]
