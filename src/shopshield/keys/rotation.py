"""Master key rotation: new version, rewrap every data key, drop versions nothing uses."""

from __future__ import annotations

import time
from collections.abc import Callable

from shopshield.keys.keyring import LocalKeyFile
from shopshield.keys.service import DataKeys, RotationReport


def rotate(
    master: LocalKeyFile,
    data_keys: DataKeys,
    *,
    grace_seconds: float,
    progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    started = time.perf_counter()
    version = master.add_version()
    rewrapped = data_keys.rewrap_all(version, progress=progress, grace_seconds=grace_seconds)
    dropped = drop_unused(master, data_keys)
    return RotationReport(version, rewrapped, dropped, time.perf_counter() - started)


def drop_unused(master: LocalKeyFile, data_keys: DataKeys) -> list[int]:
    """Destroy retired versions that wrap no data key; a version still in use is kept."""
    dropped = []
    for entry in data_keys.usage():
        if entry.state == "retired" and entry.data_keys == 0:
            master.drop_version(entry.version)
            dropped.append(entry.version)
    return dropped
