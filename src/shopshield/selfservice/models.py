"""The customer pages' tables: one-time entry links and customers' sessions.

Neither holds a secret a reader of the database could use: a link's token and a session's id are
256 random bits, kept only as their SHA-256 digests (a fast hash is enough for random secrets, as
for API tokens and the console's). The CSRF secret is kept as is, because pages put it in their
forms; it is worthless without the session cookie it is bound to. Customer ids are the store's own
ids, never a personal value (``core.ids``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base


class CustomerLinkRow(Base):
    """A link the store's backend asked for: good once, until ``expires_at``, for one customer."""

    __tablename__ = "customer_links"

    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # The principal (the store's backend) that asked for it.
    issued_by: Mapped[str] = mapped_column(String(64), nullable=False)
    # The page the link opens first (a code of ``service.LANDINGS``).
    landing: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CustomerSessionRow(Base):
    """A customer's session on the pages, begun by opening a link."""

    __tablename__ = "customer_sessions"

    session_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The absolute end; the idle end is last_seen_at plus ``service.IDLE``.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    csrf_secret: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
