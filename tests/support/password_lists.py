"""Small corpora written in HIBP's download formats and as plain lists, with what they hold."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from shopshield.passwords import formats, service
from shopshield.passwords.models import BuildReport

PASSWORDS = ("password", "123456", "hunter2", "qwerty", "刘杰1988", "correct horse battery staple")


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 - HIBP's format


def hibp_file(path: Path, counts: Mapping[str, int], *, newline: str = "\r\n", lower: bool = False) -> Path:
    """``counts`` (SHA-1 hex -> count) as one HIBP ``HASH:COUNT`` file, sorted like HIBP's."""
    lines = [f"{h.lower() if lower else h}:{c}" for h, c in sorted(counts.items())]
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def prefix_folder(path: Path, counts: Mapping[str, int], *, newline: str = "\r\n") -> Path:
    """``counts`` as a folder of HIBP per-prefix files (only the prefixes that occur)."""
    path.mkdir(parents=True, exist_ok=True)
    by_prefix: dict[str, list[str]] = {}
    for h, c in sorted(counts.items()):
        by_prefix.setdefault(h[:5], []).append(f"{h[5:]}:{c}")
    for prefix, lines in by_prefix.items():
        # HIBP's files have no line break after the last line.
        (path / f"{prefix}.txt").write_bytes(newline.join(lines).encode())
    return path


def plain_list(path: Path, passwords: Iterable[str], *, newline: str = "\n") -> Path:
    path.write_bytes("".join(p + newline for p in passwords).encode())
    return path


def counts_of(passwords: Iterable[str]) -> dict[str, int]:
    return {sha1(p): n for p, n in Counter(passwords).items()}


def build(directory: Path, *paths: Path, merge: bool = False) -> BuildReport:
    return service.build_corpus(sources=[formats.open_source(p) for p in paths], directory=directory, merge=merge)
