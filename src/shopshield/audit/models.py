"""Tables of the tamper-evident log: stored subtree nodes, signed checkpoints and archived ranges.

The leaves are the ``access_events`` rows (``leaf_index``, ``leaf_hash``). There is no row for the
tree's size or frontier: the size is the last leaf index plus one, and the frontier is read back
from stored nodes, so an append writes nothing but its events (and a node every 16 events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, DateTime, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

# Interior nodes are stored only on every STRIDE-th level (4, 8, 12, ...): one row per 15 events
# instead of one per event. A node between stored levels is recomputed from at most 2**(STRIDE-1)
# stored nodes (or leaf hashes) below it, so a proof still reads O(log n) rows.
STRIDE = 4


class EventRecord(NamedTuple):
    """An access event's row as the log's readers and its archive files see it, column by column:
    leaf index first, leaf hash last, in the order ``AuditLog.append_batch`` inserts them."""

    leaf_index: int
    ts: Any  # a datetime on PostgreSQL, SQLAlchemy's text form on SQLite
    actor_id: str
    actor_kind: str
    actor_role: str
    action: str
    customer_id: str | None
    order_id: str | None
    fields: str | None
    channel: str
    source_ip: str | None
    purpose: str | None
    ticket_id: str | None
    outcome: str
    reason: str | None
    leaf_hash: Any  # bytes (or a buffer, by driver): read it through bytes()


EVENT_COLUMNS = EventRecord._fields
SELECT_EVENTS = "SELECT " + ", ".join(EVENT_COLUMNS) + " FROM access_events"  # noqa: S608 - constant column names


class AuditNodeRow(Base):
    """A complete perfect subtree's hash at a stored level (a multiple of ``STRIDE``)."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditCheckpointRow(Base):
    """A signed checkpoint: tree size, root hash and time, as the signed note handed to the witness."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)


class AuditArchiveRow(Base):
    """Leaves ``[first_leaf, end_leaf)`` moved to a Parquet file and deleted from ``access_events``.

    ``end_leaf`` is a multiple of ``2**STRIDE``, so the stored nodes still cover the archived range
    and the rest of the log verifies without the file; ``sha256`` pins the file so that it can be
    checked when it is present.
    """

    __tablename__ = "audit_archives"

    first_leaf: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    end_leaf: Mapped[int] = mapped_column(BigInteger, nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
