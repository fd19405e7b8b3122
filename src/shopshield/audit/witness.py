"""Witnesses: somewhere outside the database that keeps every signed checkpoint.

A rewritten or restored database cannot take the witness along, so ``audit verify`` can tell when
the log it finds is shorter than, or different from, what was once signed. ``FileWitness`` keeps
the checkpoints in an append-only JSON-lines file that should live outside the data directory (and,
in production, on another machine or a write-once volume).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import orjson

from shopshield.audit.signing import CheckpointError, Verifier

log = logging.getLogger(__name__)


class Witness(Protocol):
    def add(self, tree_size: int, note: str) -> None:
        """Hand over a signed checkpoint; raises ``WitnessRefused`` if it contradicts what it holds."""

    def notes(self) -> list[str]:
        """Every checkpoint note it holds, oldest first."""


class WitnessRefused(RuntimeError):
    """The witness holds a larger checkpoint than the one offered: the log went back in time."""


class FileWitness:
    """Append-only JSON lines ``{"tree_size": N, "note": "..."}``, one per checkpoint, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._largest: int | None = None

    def add(self, tree_size: int, note: str) -> None:
        with self._lock:
            largest = self._largest if self._largest is not None else self._largest_on_file()
            if largest is not None and tree_size < largest:
                raise WitnessRefused(
                    f"the witness already holds a checkpoint of size {largest}; refusing size {tree_size}"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = orjson.dumps({"tree_size": tree_size, "note": note}) + b"\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._largest = tree_size

    def notes(self) -> list[str]:
        if not self.path.exists():
            return []
        found: list[str] = []
        for number, line in enumerate(self.path.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(str(orjson.loads(line)["note"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise CheckpointError(f"witness file line {number} does not parse") from None
        return found

    def _largest_on_file(self) -> int | None:
        if not self.path.exists():
            return None
        with self.path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            tail = handle.read().splitlines()
        for line in reversed(tail):
            try:
                return int(orjson.loads(line)["tree_size"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return None


def verified_notes(witness: Witness, verifier: Verifier) -> list[tuple[int, bytes, str]]:
    """``(tree_size, root_hash, signed_at)`` of every witnessed checkpoint, signatures checked."""
    out: list[tuple[int, bytes, str]] = []
    for note in witness.notes():
        checkpoint = verifier.verify(note)
        out.append((checkpoint.tree_size, checkpoint.root_hash, checkpoint.signed_at.isoformat()))
    return out
