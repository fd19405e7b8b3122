"""Signed checkpoints in the C2SP formats that transparency-log witnesses already speak.

A checkpoint (c2sp.org/tlog-checkpoint) is the text::

    <origin>
    <tree size>
    <base64 root hash>
    time <RFC 3339 UTC>

signed as a note (c2sp.org/signed-note) with Ed25519: a blank line, then
``— <key name> <base64(key id || signature)>``, where the key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key). The ``time`` line is a checkpoint extension
line; the issue asks that the time be signed along with size and root.

The private key lives in a file outside the database (0600, PKCS#8 PEM), so a rewritten database
cannot produce new signatures over a rewritten history.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shopshield.core import times
from shopshield.core.errors import InvalidInput
from shopshield.core.files import private_dir

_ED25519 = b"\x01"
_DASH = "\u2014 "


class CheckpointError(InvalidInput, ValueError):
    """A checkpoint or note that does not parse or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    signed_at: datetime

    def body(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        # A naive time is UTC here as everywhere in ShopShield (astimezone would take it as local).
        stamp = times.utc(self.signed_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{self.origin}\n{self.tree_size}\n{root}\ntime {stamp}\n"


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + raw).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """The ``<name>+<hex key id>+<base64(0x01 || key)>`` string that note verifiers take."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{name}+{key_id(name, public).hex()}+{base64.b64encode(_ED25519 + raw).decode()}"


@dataclass(frozen=True)
class Verifier:
    name: str
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        try:
            name, hex_id, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
            if raw[:1] != _ED25519 or len(raw) != 33:
                raise CheckpointError("verifier key: only Ed25519 keys are supported")
            verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        except (ValueError, binascii.Error) as exc:
            raise CheckpointError(f"verifier key does not parse: {exc}") from None
        if key_id(name, verifier.public).hex() != hex_id:
            raise CheckpointError("verifier key: key id does not match the key")
        return verifier

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def verify(self, note: str) -> Checkpoint:
        """The checkpoint in ``note`` if this key signed it; ``CheckpointError`` otherwise.

        As c2sp.org/signed-note says: the signatures follow the last blank line, every signature
        line must be well formed, signatures by unknown keys are ignored, and a signature by this
        key that does not verify rejects the note even if another one does.
        """
        body, sep, signatures = note.rpartition("\n\n")
        if not sep or not signatures.endswith("\n"):
            raise CheckpointError("note has no signature block")
        body += "\n"
        wanted = self.key_id
        verified = False
        for line in signatures[:-1].split("\n"):
            if not line.startswith(_DASH):
                raise CheckpointError("malformed signature line")
            name, _, encoded = line[len(_DASH) :].rpartition(" ")
            try:
                blob = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise CheckpointError("signature is not base64") from None
            if not name or len(blob) < 5:
                raise CheckpointError("malformed signature line")
            if name != self.name or blob[:4] != wanted:
                continue
            try:
                self.public.verify(blob[4:], body.encode())
            except InvalidSignature:
                raise CheckpointError("checkpoint signature does not verify") from None
            verified = True
        if not verified:
            raise CheckpointError(f"note carries no signature by {self.name}")
        return parse_body(body)


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 5 or lines[-1] != "":
        raise CheckpointError("checkpoint body needs origin, size, root and time lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    stamp = next((line.removeprefix("time ") for line in lines[3:] if line.startswith("time ")), None)
    try:
        size = int(size_text)
        root = base64.b64decode(root_text, validate=True)
        signed_at = datetime.strptime(stamp or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (ValueError, binascii.Error):
        raise CheckpointError("checkpoint body does not parse") from None
    if size < 0 or str(size) != size_text or len(root) != 32:
        raise CheckpointError("checkpoint size or root hash is malformed")
    return Checkpoint(origin, size, root, signed_at)


class CheckpointSigner:
    """Signs checkpoints with the Ed25519 key in ``path``, created on first use."""

    def __init__(self, path: Path, origin: str) -> None:
        self.origin = origin
        self._private = _load_or_create(path)
        self.verifier = Verifier(origin, self._private.public_key())

    def sign(self, checkpoint: Checkpoint) -> str:
        body = checkpoint.body()
        signature = self._private.sign(body.encode())
        blob = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{body}\n{_DASH}{self.origin} {blob}\n"

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.origin, self.verifier.public)


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise CheckpointError(f"{path.name} does not hold an Ed25519 private key")
        return loaded
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    private_dir(path.parent)
    # Written whole to a private temporary file, then linked into place: a second process starting
    # at the same moment either wins the link or reads the complete key, never a half-written file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return _load_or_create(path)
    finally:
        partial.unlink(missing_ok=True)
    return key
