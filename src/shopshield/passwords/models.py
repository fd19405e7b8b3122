"""What the password stores record about themselves. No tables: both stores are files (store.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

MANIFEST_FILE: Final = "manifest.json"
MANIFEST_FORMAT: Final = 1
CORPUS: Final = "corpus"
PAIRS: Final = "pairs"


@dataclass(frozen=True)
class Manifest:
    """``manifest.json`` of one built generation of a store."""

    kind: str  # CORPUS or PAIRS
    created_at: str
    records: int  # distinct hashes (corpus) or distinct pairs
    occurrences: int = 0  # the corpus's counts added up
    shard_bits: int = 0
    shards: list[str] = field(default_factory=list)
    filter_bytes: int = 0
    filter_keys: int = 0
    sources: list[str] = field(default_factory=list)  # file and folder names, for the operator
    format: int = MANIFEST_FORMAT

    def json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Manifest:
        if doc.get("format") != MANIFEST_FORMAT:
            raise ValueError("unknown manifest format")
        return cls(**doc)

    @property
    def bits_per_key(self) -> float:
        return 8 * self.filter_bytes / self.filter_keys if self.filter_keys else 0.0


@dataclass(frozen=True)
class BuildReport:
    """What ``passwords build`` or ``passwords pairs`` did."""

    manifest: Manifest
    directory: str
    read_lines: int  # valid entries read from the sources (before merging equal hashes)
    kept_from_before: int  # records carried over from the previous generation (merge)
    skipped_lines: int
    first_skipped: list[str]
    seconds: float

    def json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "records": self.manifest.records,
            "occurrences": self.manifest.occurrences,
            "read": self.read_lines,
            "kept_from_before": self.kept_from_before,
            "skipped_lines": self.skipped_lines,
            "first_skipped": self.first_skipped,
            "shards": len(self.manifest.shards),
            "filter_bytes": self.manifest.filter_bytes,
            "bits_per_key": round(self.manifest.bits_per_key, 3),
            "seconds": round(self.seconds, 3),
        }
