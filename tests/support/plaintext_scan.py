"""Looking for plaintext personal values in raw bytes: files, a database dump, logs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from shopshield.settings import Settings


class Scanner:
    """Finds any of a set of plaintext values in bytes.

    Checking thousands of needles one by one against megabytes is too slow, so the scanner first
    finds runs of bytes that could belong to a needle (bytes of the needles' own alphabet) and looks
    every needle-sized window of those runs up in a set. E-mail addresses, whose alphabet is most of
    ASCII, are found through their "@" instead.
    """

    _EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}")

    def __init__(self, values: Iterable[str], emails: Iterable[str] = ()) -> None:
        encoded = {v.encode() for v in values}
        assert encoded and all(encoded)
        self.needles = encoded
        self.lengths = sorted({len(n) for n in encoded})
        alphabet = b"".join(re.escape(bytes([b])) for b in sorted(set(b"".join(encoded))))
        self.runs = re.compile(b"[" + alphabet + b"]{%d,}" % self.lengths[0])
        self.emails = {e.encode() for e in emails}

    def find(self, data: bytes) -> set[str]:
        hits: set[bytes] = set()
        for match in self.runs.finditer(data):
            run = match.group()
            for length in self.lengths:
                for start in range(len(run) - length + 1):
                    window = run[start : start + length]
                    if window in self.needles:
                        hits.add(window)
        if self.emails:
            for match in self._EMAIL.finditer(data):
                token = match.group().rstrip(b".")
                local, _, domain = token.partition(b"@")
                # A random byte before the address can extend its local part: try every suffix.
                for start in range(len(local)):
                    candidate = local[start:] + b"@" + domain
                    for email in self.emails:
                        if candidate.startswith(email):
                            hits.add(email)
        return {h.decode() for h in hits}


def read_dir(root: Path, label: str) -> dict[str, bytes]:
    """The raw bytes of every file below ``root``, keyed by label and relative path."""
    return {f"{label}:{p.relative_to(root)}": p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def pg_dump(settings: Settings) -> str:
    """A plain-SQL dump of the test's PostgreSQL schema (fails the test when pg_dump is missing)."""
    executable = shutil.which("pg_dump")
    if executable is None:
        pytest.fail("pg_dump is not on PATH: it is needed to scan a PostgreSQL dump for plaintext")
    assert settings.database_url is not None
    url = make_url(settings.database_url.get_secret_value())
    options = str(url.query.get("options", ""))
    schema = options.removeprefix("-csearch_path=")
    assert schema and schema != options, f"no search_path in the test database URL: {options!r}"
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    command = [
        executable,
        f"--host={url.host or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'postgres'}",
        f"--schema={schema}",
        "--no-owner",
        "--no-password",
        str(url.database),
    ]
    done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()
