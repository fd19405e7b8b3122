"""Witnesses: somewhere outside the database that keeps every signed checkpoint.

A rewritten or restored database cannot take the witness along, so ``audit verify`` can tell when
the log it finds is shorter than, or different from, what was once signed. ``FileWitness`` keeps
the checkpoints in an append-only JSON-lines file that should live outside the data directory (and,
in production, on another machine or a write-once volume).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import orjson

from shopshield.audit.signing import CheckpointError
from shopshield.core.errors import InstanceFault
from shopshield.core.files import private_dir

log = logging.getLogger(__name__)


class Witness(Protocol):
    def add(self, tree_size: int, note: str) -> None:
        """Hand over a signed checkpoint; raises ``WitnessRefused`` if it contradicts what it holds."""

    def notes(self) -> list[str]:
        """Every checkpoint note it holds, oldest first; raises ``WitnessMissing`` if its store is gone."""


class WitnessRefused(InstanceFault, RuntimeError):
    """The witness holds a larger checkpoint than the one offered: the log went back in time."""


class WitnessMissing(InstanceFault, RuntimeError):
    """The witness's file is not there: deleted, moved, or the setting names another place.

    Not the same as an empty witness. Deleting the file is exactly what someone who restored an
    older database would do, so a missing file must never read as "holds nothing yet".
    """

    def __init__(self, path: Path) -> None:
        super().__init__(f"no witness file at {path}")
        self.path = path


class FileWitness:
    """Append-only JSON lines ``{"tree_size": N, "note": "..."}``, one per checkpoint, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, tree_size: int, note: str) -> None:
        private_dir(self.path.parent)
        line = orjson.dumps({"tree_size": tree_size, "note": note}) + b"\n"
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # Check and append under an exclusive lock on the file itself: `serve` and a CLI
                # `audit checkpoint` may both be adding, and the check must see the other's line.
                fcntl.flock(fd, fcntl.LOCK_EX)
                largest = _largest_in_tail(fd)
                if largest is not None and tree_size < largest:
                    raise WitnessRefused(
                        f"the witness already holds a checkpoint of size {largest}; refusing size {tree_size}"
                    )
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)  # also releases the lock

    def notes(self) -> list[str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise WitnessMissing(self.path) from None
        found: list[str] = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(str(orjson.loads(line)["note"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise CheckpointError(f"witness file line {number} does not parse") from None
        return found


def _largest_in_tail(fd: int) -> int | None:
    """The largest tree size among the last lines of the file (checkpoints only grow, so the
    newest lines hold it unless the file was tampered with, which ``audit verify`` reports)."""
    end = os.lseek(fd, 0, os.SEEK_END)
    start = max(0, end - 65536)
    tail = os.pread(fd, end - start, start).splitlines()
    if start:
        tail = tail[1:]  # the first line may be cut
    sizes = []
    for line in tail:
        try:
            entry = orjson.loads(line)
            if isinstance(entry.get("note"), str):
                sizes.append(int(entry["tree_size"]))
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            continue
    return max(sizes) if sizes else None
