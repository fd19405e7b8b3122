"""Archiving old access events to Parquet without breaking the log.

An archive moves a prefix of the tree, leaves ``[first, end)`` with ``end`` a multiple of
``2**STRIDE``, to a Parquet file and then deletes those rows. The stored nodes stay, and because
``end`` is aligned every perfect subtree left of it is a stored node: proofs for later events and
``audit verify`` keep working without the file, and with the file present ``verify`` recomputes
the archived leaves too (the file's SHA-256 is recorded). Events younger than the retention
period (at least three years) are never archived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from shopshield.access import export
from shopshield.audit.models import EVENT_COLUMNS, SELECT_EVENTS, STRIDE, EventRecord
from shopshield.core import times
from shopshield.core.db import Statement, Tx, transaction
from shopshield.core.errors import InvalidInput
from shopshield.core.files import create_private, private_dir

BATCH = 10_000
ALIGN = 1 << STRIDE
# The export's column types (access/export.py), in the order ``audit verify`` reads events in.
SCHEMA = pa.schema([export.SCHEMA.field(name) for name in EVENT_COLUMNS])
# Where the two columns that need converting sit in an archive's columns.
_TS, _LEAF_HASH = EVENT_COLUMNS.index("ts"), EVENT_COLUMNS.index("leaf_hash")


class _Stamp(NamedTuple):
    leaf_index: int
    ts: Any


class _ArchivedEnd(NamedTuple):
    end_leaf: int | None


class _LeafHash(NamedTuple):
    leaf_hash: Any


_RANGE = Statement(
    SELECT_EVENTS + " WHERE leaf_index >= :start AND leaf_index < :end ORDER BY leaf_index LIMIT :limit",
    row=EventRecord,
)
_TS_FROM = Statement(
    "SELECT leaf_index, ts FROM access_events WHERE leaf_index >= :start ORDER BY leaf_index LIMIT :limit",
    row=_Stamp,
)
_ARCHIVED_END = Statement("SELECT MAX(end_leaf) FROM audit_archives", row=_ArchivedEnd)
_INSERT = Statement(
    "INSERT INTO audit_archives (first_leaf, end_leaf, file_name, sha256, archived_at) "
    "VALUES (:first, :end, :name, :sha256, :at)"
)
_DELETE = Statement("DELETE FROM access_events WHERE leaf_index >= :start AND leaf_index < :end")
_HASHES = Statement(
    "SELECT leaf_hash FROM access_events WHERE leaf_index >= :start AND leaf_index < :end ORDER BY leaf_index",
    row=_LeafHash,
)


@dataclass(frozen=True)
class Archived:
    first_leaf: int
    end_leaf: int
    path: Path
    sha256: bytes


def archive_before(
    engine: Engine,
    out_dir: Path,
    *,
    before: datetime,
    retention_days: int,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Archived | None:
    """Archive the oldest events logged before ``before`` (and older than the retention period).

    Returns None when nothing is old enough. The file is written from a read snapshot first; the
    rows are deleted only after the archive is recorded and their leaf hashes still match it.
    """
    now = now or datetime.now(UTC)
    if before.tzinfo is None:
        raise InvalidInput("before: give a time zone or a UTC offset")
    horizon = now - timedelta(days=retention_days)
    if before > horizon:
        raise InvalidInput(
            f"before: events are kept at least {retention_days} days; choose a time before {horizon:%Y-%m-%d}"
        )
    with transaction(engine, read_only=True) as tx:
        start = _archived_end(tx)
        end = _end_before(tx, start, before)
        if end <= start:
            return None
        name = f"access-events-{start:012d}-{end:012d}.parquet"
        path = out_dir / name
        digest = _write(tx, path, start, end, progress)
    with transaction(engine) as tx:
        if _archived_end(tx) != start:
            path.unlink(missing_ok=True)
            raise InvalidInput("another archive ran at the same time; run again")
        stored = b"".join(bytes(r.leaf_hash) for r in tx.all(_HASHES, {"start": start, "end": end}))
        if hashlib.sha256(stored).digest() != _leaf_digest(path):
            path.unlink(missing_ok=True)
            raise InvalidInput("the events changed while they were being archived; nothing was deleted")
        tx.execute(_INSERT, {"first": start, "end": end, "name": name, "sha256": digest, "at": tx.timestamp(now)})
        tx.execute(_DELETE, {"start": start, "end": end})
    return Archived(start, end, path, digest)


def read_archive(path: Path) -> Iterator[EventRecord]:
    """Rows in the column order ``audit verify`` reads events in."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        yield from map(EventRecord._make, zip(*columns, strict=True))


def _archived_end(tx: Tx) -> int:
    row = tx.one(_ARCHIVED_END, {})
    return int(row.end_leaf) if row and row.end_leaf is not None else 0


def _end_before(tx: Tx, start: int, before: datetime) -> int:
    """The first leaf at or after ``before`` (leaves follow commit order), rounded down to ``ALIGN``."""
    cursor = start
    while True:
        rows = tx.all(_TS_FROM, {"start": cursor, "limit": BATCH})
        for stamp in rows:
            if times.stored(stamp.ts) >= before:
                return int(stamp.leaf_index) - int(stamp.leaf_index) % ALIGN
        if len(rows) < BATCH:
            # Every event is old enough: keep the newest one all the same, because the tree's size
            # is read from its last stored leaf.
            last = int(rows[-1].leaf_index) if rows else cursor
            return last - last % ALIGN
        cursor = int(rows[-1].leaf_index) + 1


def _write(tx: Tx, path: Path, start: int, end: int, progress: Callable[[int], None] | None) -> bytes:
    private_dir(path.parent)
    partial = create_private(path.with_name(path.name + ".partial"))
    with pq.ParquetWriter(partial, SCHEMA, compression="zstd") as writer:
        cursor = start
        while cursor < end:
            rows = tx.all(_RANGE, {"start": cursor, "end": end, "limit": BATCH})
            if not rows:
                break
            columns = [list(c) for c in zip(*rows, strict=True)]
            columns[_TS] = [times.stored(ts) for ts in columns[_TS]]
            columns[_LEAF_HASH] = [bytes(h) for h in columns[_LEAF_HASH]]
            arrays = [pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
            cursor = int(rows[-1].leaf_index) + 1
            if progress is not None:
                progress(len(rows))
    partial.replace(path)
    return hashlib.sha256(path.read_bytes()).digest()


def _leaf_digest(path: Path) -> bytes:
    return hashlib.sha256(b"".join(bytes(row.leaf_hash) for row in read_archive(path))).digest()
