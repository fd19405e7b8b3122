"""Tables for access events and per-principal daily quota counters. The events as services build
them, and their outcomes, are ``core.events``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

# The customer index groups events in buckets of 2**14 consecutive leaves (decision 0007): small
# enough that a commit dirties few index pages (a bucket's entries fill about 80 pages), large
# enough that a lookup over 100 million events seeks about 6,100 buckets (~10 ms on SQLite).
BUCKET_BITS = 14
BUCKET_EXPRESSION = f"(leaf_index >> {BUCKET_BITS})"


class AccessEventRow(Base):
    """One access to personal data, or one refused attempt: a leaf of the tamper-evident log.

    ``leaf_index`` is the event's position in the Merkle tree and the primary key (on SQLite the
    rowid itself, so the log costs no extra index); it is assigned when the event's transaction
    commits, in commit order, so the tree has no gaps even with concurrent writers. ``leaf_hash``
    is SHA-256(0x00 || canonical bytes of the event, see ``audit.canonical``). Nothing here is
    personal data: customers and actors are identified by id only.
    """

    __tablename__ = "access_events"

    leaf_index: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    source_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

    __table_args__ = (
        # The one secondary index, paid on every read of personal data (decision 0007). It leads
        # with the leaf's bucket, so the entries a commit adds land in the newest bucket's small
        # subtree instead of at random places in an index of every event: on SQLite that is
        # about 2-3x cheaper per append, and the cost no longer grows with the log. A lookup by
        # customer seeks once per bucket (see access/report.py). No index by actor: no request
        # reads by actor; analysis of actors runs over exported Parquet (DuckDB).
        Index("ix_access_events_bucket_customer", text(BUCKET_EXPRESSION), "customer_id"),
    )


class QuotaUsageRow(Base):
    """How many views or reveals a principal used on one local day."""

    __tablename__ = "quota_usage"

    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


def split_fields(stored: str) -> tuple[str, ...]:
    """The ``fields`` column is ``|``-joined (the shared export format); empty means none."""
    return tuple(stored.split("|")) if stored else ()


def join_fields(fields: Sequence[str]) -> str:
    return "|".join(fields)
