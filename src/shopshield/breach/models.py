"""The warnings table: one anti-scam warning queued per customer affected by a breach case.

A warning holds ids and codes only, so nothing personal is stored here. It is the case's record
of whom it warned; the message goes through the notify outbox, queued in the same transaction,
whose rows name the warning as their source (``source="breach"``, ``source_ref=warning_id``), and
the worker sends it and records what became of it there (decision 0028).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

QUEUED = "queued"


class WarningRow(Base):
    __tablename__ = "warnings"

    warning_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # Why the customer is warned (a code), and which template says it.
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    template: Mapped[str] = mapped_column(String(32), nullable=False)
    # The breach case that queued it: the same case never warns a customer twice.
    case_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # QUEUED when recorded; what became of the message is its outbox rows' state (decision 0028).
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("case_id", "customer_id", name="uq_warnings_case_customer"),
        # What a sender reads: the oldest queued warnings first.
        Index("ix_warnings_status_created_at", "status", "created_at"),
    )
