"""The console's tables: sessions of people logged in, and one-time login links.

Neither holds a secret a reader of the database could use: a session's id and a login link's token
are kept only as their SHA-256 digests (both are 256-bit random, so a fast hash is enough, as for
API tokens). The CSRF secret is kept as is, because pages put it in their forms; it is worthless
without the session cookie it is bound to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base


class ConsoleSessionRow(Base):
    __tablename__ = "console_sessions"

    session_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The absolute end (SHOPSHIELD_CONSOLE_SESSION_HOURS after login); the idle end is last_seen_at
    # plus SHOPSHIELD_CONSOLE_IDLE_MINUTES, read from the settings when the session is used.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    csrf_secret: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class LoginLinkRow(Base):
    __tablename__ = "console_login_links"

    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
