"""Which customers are canaries, for whom, and every contact that reached one.

The decoys themselves are ordinary rows of the vault's tables (encrypted, blind-indexed, with an
order and a return): nothing there tells them apart. Only ``canaries`` does, which is why reading
it needs ``canaries.read`` (security staff): an insider who knew the canaries could leak around them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

CONTACT = "contact"
SCAM_REPORT = "scam_report"
SEARCH = "search"


class CanaryRow(Base):
    """A canary customer and the one recipient whose copy of the store's data carries it.

    ``recipient`` is an identifier (a partner id, an export job, a principal id), never a
    person's name: it is stored in plaintext and shown in case files.
    """

    __tablename__ = "canaries"

    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.customer_id"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    planted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    planted_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (Index("ix_canaries_recipient", "recipient", "planted_at"),)


class CanaryHitRow(Base):
    """A contact that reached a canary (reported directly, or found in a scam report), or a search
    that found one; and every contact check that reached none, as a row without ``customer_id`` and
    ``recipient``: a check writes the same whatever the number, so its cost tells nothing (decision
    0016). Only rows with a canary are hits.

    ``recipient`` is copied from the canary so the hit reads the same in every later case file.
    ``note_ct`` is free text sealed under a key derived from the key file (free text is where people
    paste personal data), kept for hits only; ``report_id`` is unique, so one scam report raises one hit.
    """

    __tablename__ = "canary_hits"

    hit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("canaries.customer_id"), nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    report_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(8), nullable=True)
    note_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_canary_hits_recipient", "recipient", "recorded_at"),
        Index("ix_canary_hits_customer_id", "customer_id"),
    )
