"""Writing access events to Parquet in the shared "Access events" format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from shopshield.access.models import AccessEventRow
from shopshield.core import times
from shopshield.core.db import unit_of_work
from shopshield.core.files import create_private

BATCH = 50_000

# The shared format's columns first, then ShopShield's own (ignored by tools that do not know them).
SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("actor_id", pa.string()),
        ("actor_kind", pa.string()),
        ("action", pa.string()),
        ("customer_id", pa.string()),
        ("order_id", pa.string()),
        ("fields", pa.string()),
        ("channel", pa.string()),
        ("source_ip", pa.string()),
        ("actor_role", pa.string()),
        ("purpose", pa.string()),
        ("ticket_id", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("leaf_hash", pa.binary(32)),
        # Last, and the batch cursor: commit order, and the event's position in the audit tree.
        ("leaf_index", pa.int64()),
    ]
)
_COLUMNS = [AccessEventRow.ts] + [getattr(AccessEventRow, name) for name in SCHEMA.names[1:]]


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    # SQLite keeps timestamps as UTC text and compares them as text: convert before comparing.
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(AccessEventRow.ts >= times.utc(since))
    if until is not None:
        conditions.append(AccessEventRow.ts < times.utc(until))
    return conditions


def count(session: Session, since: datetime | None, until: datetime | None) -> int:
    return int(session.scalar(select(func.count()).select_from(AccessEventRow).where(*_window(since, until))) or 0)


def export_parquet(
    sessions: sessionmaker[Session],
    out: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    customers: set[str] | None = None,
    before_publish: Callable[[], None] | None = None,
) -> int:
    """Stream events in ``[since, until)`` to ``out`` in batches; returns how many were written.

    Written to a temporary file and renamed, so a failed export never leaves a truncated file.
    ``customers``, when given, collects the customer ids of the events written; ``before_publish``
    runs once the file is complete and before it is renamed into place (a partner export records
    itself and queues its notifications there): when it fails, no file is published.
    """
    tmp = create_private(out.with_name(out.name + ".partial"))
    try:
        written = _write(sessions, tmp, since, until, progress, customers)
        if before_publish is not None:
            before_publish()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return written


_CUSTOMER = SCHEMA.names.index("customer_id")


def _write(
    sessions: sessionmaker[Session],
    tmp: Path,
    since: datetime | None,
    until: datetime | None,
    progress: Callable[[int], None] | None,
    customers: set[str] | None,
) -> int:
    written = 0
    with unit_of_work(sessions) as session, pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        last = -1
        while True:
            rows = session.execute(
                select(*_COLUMNS)
                .where(AccessEventRow.leaf_index > last, *_window(since, until))
                .order_by(AccessEventRow.leaf_index)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            columns = list(zip(*rows, strict=True))
            writer.write_table(
                pa.Table.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
                )
            )
            if customers is not None:
                customers.update(c for c in columns[_CUSTOMER] if c is not None)
            last = rows[-1].leaf_index
            written += len(rows)
            if progress is not None:
                progress(len(rows))
    return written
