"""The ``security_alerts`` table: one row per alert, repeats within its window counted on it.

An alert names its actor by id (a principal, later perhaps a recipient or a job) and says why in
words; ``details`` holds codes and numbers for machines (which limit, its value, the field
searched by). Neither ever holds a personal value: the evidence is in the access log, which
security staff read with their own access recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

OPEN = "open"

# Kinds of alert. Each kind decides its own de-duplication window (``dedup_key``).
SEARCH_LIMIT = "search_limit"
INSIDER = "insider"  # investigate insiders --raise-alerts: one per actor and day


class SecurityAlertRow(Base):
    __tablename__ = "security_alerts"

    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # How many times the alert's condition occurred in its window (1 when raised).
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(String(300), nullable=False)
    # A JSON object of codes and numbers.
    details: Mapped[str] = mapped_column(Text, nullable=False)
    # Kind, actor and window: a repeat in the same window counts on the alert instead of raising
    # another, so a script hammering a limit raises one alert an hour, not thousands.
    dedup_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)

    __table_args__ = (Index("ix_security_alerts_raised_at", "raised_at"),)
