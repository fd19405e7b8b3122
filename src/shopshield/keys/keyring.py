"""The versioned master key, kept in a local key file outside the database.

Master keys only wrap per-customer data keys (envelope encryption); they never touch field data.
A KMS-backed provider can replace the file by implementing :class:`MasterKeyProvider`.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.core.errors import BadConfiguration
from shopshield.core.files import private_dir
from shopshield.keys.envelope import KEY_BYTES, new_key

KEY_FILE_FORMAT = 1
# How often a long-running service looks at the key file for versions added by `keys rotate`.
RELOAD_INTERVAL_SECONDS = 1.0


class KeyFileError(BadConfiguration):
    """The key file is missing, unreadable, or not in the expected format."""


@dataclass(frozen=True)
class MasterKeyVersion:
    version: int
    state: str  # "active" (wraps new keys), "retired" (unwraps only until rewrapped)
    created_at: str


class MasterKeyProvider(Protocol):
    """What the vault needs from a master key: wrap and unwrap data keys under versions."""

    def active_version(self) -> int: ...

    def aead(self, version: int) -> AESGCM: ...

    def versions(self) -> list[MasterKeyVersion]: ...

    def blind_index_key(self) -> bytes: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise KeyFileError(f"key file: {what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"key file: {what} must be {KEY_BYTES} bytes")
    return raw


class LocalKeyFile:
    """Master key versions and the blind-index key in one owner-only JSON file.

    The file is rewritten atomically (temp file + rename) so a crash mid-rotation leaves either the
    old or the new file, never a torn one. Services reload it when its modification time changes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime_ns = -1
        self._checked_at = 0.0
        self._doc: dict[str, Any] = {}
        self._aeads: dict[int, AESGCM] = {}
        self._blind = b""

    @classmethod
    def open_or_create(cls, path: Path) -> LocalKeyFile:
        keyring = cls(path)
        with keyring._lock:
            if not path.exists():
                now = datetime.now(UTC).isoformat()
                doc = {
                    "format": KEY_FILE_FORMAT,
                    "blind_index_key": _b64(new_key()),
                    "active": 1,
                    "versions": {"1": {"key": _b64(new_key()), "state": "active", "created_at": now}},
                }
                keyring._write(doc, exclusive=True)
            keyring._load()
        return keyring

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            stat = self.path.stat()
            doc = json.loads(self.path.read_text())
        except FileNotFoundError as exc:
            raise KeyFileError(f"key file {self.path} does not exist") from exc
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"key file {self.path} cannot be read as JSON") from exc
        if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
            raise KeyFileError(f"key file {self.path} has an unknown format")
        aeads = {int(v): AESGCM(_unb64(entry["key"], f"version {v}")) for v, entry in doc["versions"].items()}
        blind = _unb64(doc["blind_index_key"], "blind_index_key")
        if int(doc["active"]) not in aeads:
            raise KeyFileError(f"key file {self.path}: active version is missing")
        self._doc, self._aeads, self._blind, self._mtime_ns = doc, aeads, blind, stat.st_mtime_ns

    def refresh(self, *, force: bool = False) -> None:
        """Pick up versions another process added; cheap enough to call before every wrap."""
        now = time.monotonic()
        if not force and now - self._checked_at < RELOAD_INTERVAL_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError as exc:
                raise KeyFileError(f"key file {self.path} disappeared") from exc
            if mtime != self._mtime_ns:
                self._load()

    def active_version(self) -> int:
        return int(self._doc["active"])

    def aead(self, version: int) -> AESGCM:
        found = self._aeads.get(version)
        if found is None:
            self.refresh(force=True)
            found = self._aeads.get(version)
        if found is None:
            raise KeyFileError(f"master key version {version} is not in the key file")
        return found

    def versions(self) -> list[MasterKeyVersion]:
        return [
            MasterKeyVersion(int(v), str(e["state"]), str(e["created_at"]))
            for v, e in sorted(self._doc["versions"].items(), key=lambda item: int(item[0]))
        ]

    def blind_index_key(self) -> bytes:
        return self._blind

    # -- changing ----------------------------------------------------------------------------

    def add_version(self) -> int:
        """Add a new active version; earlier versions become retired (unwrap only)."""
        with self._lock:
            self._load()
            doc = json.loads(json.dumps(self._doc))
            version = max(int(v) for v in doc["versions"]) + 1
            for entry in doc["versions"].values():
                entry["state"] = "retired"
            doc["versions"][str(version)] = {
                "key": _b64(new_key()),
                "state": "active",
                "created_at": datetime.now(UTC).isoformat(),
            }
            doc["active"] = version
            self._write(doc)
            self._load()
            return version

    def drop_version(self, version: int) -> None:
        """Destroy a retired version's key material. The caller proves nothing uses it first."""
        with self._lock:
            self._load()
            if version == int(self._doc["active"]):
                raise KeyFileError("the active master key version cannot be dropped")
            doc = json.loads(json.dumps(self._doc))
            doc["versions"].pop(str(version), None)
            self._write(doc)
            self._load()

    def _write(self, doc: dict[str, Any], *, exclusive: bool = False) -> None:
        private_dir(self.path.parent)
        if exclusive and self.path.exists():
            raise KeyFileError(f"key file {self.path} already exists")
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
